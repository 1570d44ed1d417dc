"""The simulator's pure parts: ids, outcome mix, receipts it writes, MO parts, its config."""
from __future__ import annotations

import random
import time

import pytest

from connectors.sim_config import SimulatorConfig, SimulatorConfigError
from connectors.sim_pdus import (MessageIds, OutcomePicker, PendingReceipt, ReceiptBuilder,
                                 mo_pdus, receipt_text)
from smscd.smpp.message_state import MessageState as M
from smscd.smpp.reassembly import Reassembler, concat_of
from smscd.smpp.receipt import parse_receipt
from smscd.smpp.split import ReferenceAllocator, SplitMethod


def test_message_ids_are_sequential_hex_or_decimal() -> None:
    """Breaks if the configured id format is not what submit_sm_resp carries."""
    hex_ids, dec_ids = MessageIds("hex", 0xFFE), MessageIds("decimal", 99)
    assert [hex_ids.next() for _ in range(3)] == ["ffe", "fff", "1000"]
    assert [dec_ids.next() for _ in range(2)] == ["99", "100"]


def test_outcome_mix_follows_the_percentages() -> None:
    """Breaks if the DELIVRD/UNDELIV/EXPIRED/REJECTD mix ignores its weights or the seed."""
    mix = {M.DELIVERED: 70, M.UNDELIVERABLE: 20, M.EXPIRED: 5, M.REJECTED: 5}
    draws = [OutcomePicker(mix, random.Random(7)).pick() for _ in range(1)]
    picker = OutcomePicker(mix, random.Random(7))
    counts = {s: 0 for s in mix}
    for _ in range(20_000):
        counts[picker.pick()] += 1
    for state, percent in mix.items():
        assert abs(counts[state] / 200 - percent) < 1.5, (state, counts)
    assert OutcomePicker(mix, random.Random(7)).pick() == draws[0]


@pytest.mark.parametrize("state", [M.DELIVERED, M.UNDELIVERABLE, M.EXPIRED, M.REJECTED])
def test_receipt_reads_back_with_id_state_and_addresses_swapped(state: M) -> None:
    """Breaks if a receipt the simulator writes cannot be read by the receipt parser, or
    goes to the wrong address (it must come from the destination back to the source)."""
    now = time.time()
    pending = PendingReceipt("1a2b3c", "acct", None, state, now - 90,
                             (1, 1, "33600000001"), (1, 1, "33611111111"), "hello world")
    pdu = ReceiptBuilder().build(pending, now)
    assert pdu.esm_class == 0x04
    assert (pdu.source_addr, pdu.destination_addr) == ("33611111111", "33600000001")
    text = pdu.short_message.decode()
    assert text.startswith("id:1a2b3c sub:001 dlvrd:00") and text.endswith("text:hello world")
    receipt = parse_receipt(text, {})
    assert receipt is not None and receipt.message_id == "1a2b3c" and receipt.state == state
    assert pdu.tlv("receipted_message_id") == "1a2b3c"
    assert pdu.tlv("message_state") == int(state)
    assert (pdu.tlv("network_error_code") is None) == (state == M.DELIVERED)


def test_receipt_text_is_plain_text_only() -> None:
    """Breaks if binary or UDH content leaks into the receipt's text field."""
    assert receipt_text(b"Hello\x00there, a long text of many words", 0, 0) \
        == "Hello there, a long"
    assert receipt_text(b"\x05\x00\x03\x01\x02\x01abc", 0, 0x40) == ""
    assert receipt_text(b"\x00\x41", 8, 0) == ""


@pytest.mark.parametrize("method", [SplitMethod.UDH8, SplitMethod.SAR])
def test_long_mo_is_split_and_reassembles(method: SplitMethod) -> None:
    """Breaks if a multipart MO is not marked (UDH IEI 0x00 or SAR TLVs) so that it joins."""
    text = "".join(f"part of a long MO {i}. " for i in range(20))
    pdus = mo_pdus(text, "33600000001", "12345", 0, method,
                   ReferenceAllocator.for_method(method, rng=random.Random(1)))
    assert len(pdus) > 1
    joiner = Reassembler()
    done = None
    for pdu in pdus:
        sar = pdu.tlv("sar_msg_ref_num")
        info = concat_of(pdu.esm_class, pdu.short_message,
                         None if sar is None else (int(sar), int(pdu.tlv("sar_total_segments")),
                                                   int(pdu.tlv("sar_segment_seqnum"))))
        assert info is not None and info.via == ("udh8" if method is SplitMethod.UDH8
                                                  else "sar")
        done = joiner.add(("12345",), info.ref, info.total, info.seq, info.body, 0.0) or done
    assert done is not None and done.body.decode("ascii") == text


def test_config_names_every_problem() -> None:
    """Breaks if a bad simulator config is accepted or only its first problem is named."""
    with pytest.raises(SimulatorConfigError) as e:
        SimulatorConfig(accounts={}, latency=-1, drop_probability=2,
                        outcomes={M.ENROUTE: 100}, window=0)
    assert len(e.value.problems) == 5
