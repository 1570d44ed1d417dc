"""SMPP codec throughput on one core: decode and encode operations per second.

Run from the repository root:  python3 bench/codec.py [--runs N] [--seconds S]

Two PDUs: a submit_sm carrying 160 GSM characters (the common MT case) and a
delivery receipt deliver_sm with the receipt text plus receipted_message_id and
message_state TLVs (the common DLR case). Each figure is the best of several
timeit runs, so it reflects the codec, not the noise of a shared machine.
Results and targets are kept in bench/README.md.
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

from smscd.smpp import codec  # noqa: E402
from smscd.smpp.pdu import DeliverSm, Pdu, SubmitSm  # noqa: E402
from smscd.smpp.tlv import tlvs  # noqa: E402

SUBMIT_SM = SubmitSm(
    sequence_number=12345, source_addr_ton=5, source_addr_npi=0, source_addr="ACME",
    dest_addr_ton=1, dest_addr_npi=1, destination_addr="31612345678", registered_delivery=1,
    short_message=(b"The quick brown fox jumps over the lazy dog 0123456789 " * 3)[:160])

RECEIPT = DeliverSm(
    sequence_number=54321, source_addr_ton=1, source_addr_npi=1, source_addr="31612345678",
    dest_addr_ton=5, dest_addr_npi=0, destination_addr="ACME", esm_class=0x04,
    short_message=(b"id:0a1b2c3d4e5f sub:001 dlvrd:001 submit date:2611221200 "
                   b"done date:2611221201 stat:DELIVRD err:000 text:The quick brown f"),
    tlvs=tlvs(receipted_message_id="0a1b2c3d4e5f", message_state=2))


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
            f"python: {platform.python_implementation()} {platform.python_version()}"]


def ops_per_second(fn: Callable[[], object], runs: int, seconds: float) -> float:
    """Best of `runs` timeit runs of about `seconds` each: many short runs find the quiet
    moments of a shared machine better than a few long ones."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()                 # enough loops for >= 0.2 s
    number = max(1, int(number * seconds / 0.2))
    best = min(timer.repeat(repeat=runs, number=number))
    return number / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="timeit repeats; the best is kept")
    parser.add_argument("--seconds", type=float, default=0.1, help="length of one run")
    args = parser.parse_args()

    for line in machine():
        print(line)
    cases: list[tuple[str, Pdu]] = [("submit_sm 160 chars", SUBMIT_SM),
                                    ("deliver_sm receipt + 2 TLVs", RECEIPT)]
    print(f"{'pdu':30} {'octets':>6} {'decode/s':>10} {'encode/s':>10}")
    for name, pdu in cases:
        wire = codec.encode(pdu)
        assert codec.decode(wire) == pdu
        dec = ops_per_second(lambda: codec.decode(wire), args.runs, args.seconds)
        enc = ops_per_second(lambda: codec.encode(pdu), args.runs, args.seconds)
        print(f"{name:30} {len(wire):>6} {dec:>10,.0f} {enc:>10,.0f}")


if __name__ == "__main__":
    main()
