"""Delivery receipt read and write paths on one core: microseconds per operation.

Run from the repository root:  python3 bench/receipts.py [--runs N] [--seconds S]

Operations, each on the inputs a loaded daemon sees for every message with a receipt:
- parse_receipt: a vendor's App. B text plus its receipted_message_id and message_state
  TLVs -> Receipt (the canonical-shape fast path);
- parse_receipt, general parser: the same input through the tolerant parser the fast path
  falls back to (what every receipt cost before the fast path), when the module has one;
- parse_receipt, vendor variant: upper-case keys, `err:0`, no sub/dlvrd, an extra field
  (does not fit the fast path, so it measures the fallback in place);
- read_vendor_receipt: a decoded vendor deliver_sm -> Receipt (text decoding, TLV dict,
  parse);
- customer_receipt: Message + vendor Receipt -> the customer's deliver_sm.
Each figure is the best of several timeit runs (the quiet moments of a shared machine).
Results are kept in bench/README.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import timeit
from pathlib import Path
from typing import Callable

sys.path[0] = str(Path(__file__).resolve().parents[1])  # bench/http.py would shadow http

from smscd.dlr_pdus import customer_receipt, read_vendor_receipt  # noqa: E402
from smscd.message import Address, Message, Part  # noqa: E402
from smscd.smpp import codec, receipt  # noqa: E402
from smscd.smpp.pdu import DeliverSm  # noqa: E402
from smscd.smpp.tlv import tlvs  # noqa: E402

VENDOR_ID = "0a1b2c3d4e5f6071"
VENDOR_TEXT = (f"id:{VENDOR_ID} sub:001 dlvrd:001 submit date:2611221200 "
               "done date:2611221201 stat:DELIVRD err:000 text:The quick brown f")
VENDOR_VARIANT = (f"ID:{VENDOR_ID} Submit_Date:2611221200 DONE DATE:2611221201 "
                  "imsi:214010000000000 STAT:DELIVRD ERR:0 Text:The quick brown f")
VENDOR_TLVS: dict[str, object] = {"receipted_message_id": VENDOR_ID, "message_state": 2}

_DECODED = codec.decode(codec.encode(DeliverSm(
    sequence_number=54321, source_addr_ton=1, source_addr_npi=1, source_addr="31612345678",
    dest_addr_ton=5, dest_addr_npi=0, destination_addr="ACME", esm_class=0x04,
    short_message=VENDOR_TEXT.encode("ascii"),
    tlvs=tlvs(receipted_message_id=VENDOR_ID, message_state=2))))
assert isinstance(_DECODED, DeliverSm)
VENDOR_PDU: DeliverSm = _DECODED

MESSAGE = Message(
    id="01a2b3c4d5e6f708090a0b0c0d0e0f10", user="alice", source=Address("ACME", 5, 0),
    destination=Address("31612345678", 1, 1),
    parts=(Part((b"The quick brown fox jumps over the lazy dog 0123456789 " * 3)[:160]),),
    created_at=1_795_867_200.0, registered_delivery=1, tlvs=tlvs(user_message_reference=42))
NOW = 1_795_867_260.0


def machine() -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [f"nproc: {os.cpu_count()}", f"cpu: {model}",
            f"python: {platform.python_implementation()} {platform.python_version()}",
            f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]


def microseconds(fn: Callable[[], object], runs: int, seconds: float) -> float:
    """Best of `runs` timeit runs of about `seconds` each, in µs per call."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()                 # enough loops for >= 0.2 s
    number = max(1, int(number * seconds / 0.2))
    return min(timer.repeat(repeat=runs, number=number)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="timeit repeats; the best is kept")
    parser.add_argument("--seconds", type=float, default=0.1, help="length of one run")
    args = parser.parse_args()

    vendor = read_vendor_receipt(VENDOR_PDU)
    assert vendor is not None
    assert vendor == receipt.parse_receipt(VENDOR_TEXT, VENDOR_TLVS)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("parse_receipt (App. B text + 2 TLVs)",
         lambda: receipt.parse_receipt(VENDOR_TEXT, VENDOR_TLVS)),
    ]
    general = getattr(receipt, "_parse_general", None)
    if general is not None:
        assert general(VENDOR_TEXT, VENDOR_TLVS) == vendor
        cases.append(("  same, general parser only", lambda: general(VENDOR_TEXT, VENDOR_TLVS)))
    cases += [
        ("parse_receipt (vendor variant)",
         lambda: receipt.parse_receipt(VENDOR_VARIANT, VENDOR_TLVS)),
        ("read_vendor_receipt (decoded deliver_sm)", lambda: read_vendor_receipt(VENDOR_PDU)),
        ("customer_receipt", lambda: customer_receipt(MESSAGE, vendor, 0, NOW)),
    ]
    for line in machine():
        print(line)
    print(f"{'operation':42} {'µs/op':>7} {'ops/s':>10}")
    for name, fn in cases:
        us = microseconds(fn, args.runs, args.seconds)
        print(f"{name:42} {us:>7.2f} {1e6 / us:>10,.0f}")


if __name__ == "__main__":
    main()
