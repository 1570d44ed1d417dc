"""message_state values, stat words, classes and the registered_delivery receipt rules (DLR-04)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smscd.smpp.message_state import (
    MessageState,
    is_final,
    is_success,
    state_from_int,
    state_from_stat,
    stat_word,
    wants_receipt,
)

S = MessageState

# Spec §7 table: value, name, receipt word.
SPEC_TABLE = [
    (0, "SCHEDULED", "SCHEDLD"),
    (1, "ENROUTE", "ENROUTE"),
    (2, "DELIVERED", "DELIVRD"),
    (3, "EXPIRED", "EXPIRED"),
    (4, "DELETED", "DELETED"),
    (5, "UNDELIVERABLE", "UNDELIV"),
    (6, "ACCEPTED", "ACCEPTD"),
    (7, "UNKNOWN", "UNKNOWN"),
    (8, "REJECTED", "REJECTD"),
    (9, "SKIPPED", "SKIPPED"),
]


@pytest.mark.parametrize(("value", "name", "word"), SPEC_TABLE)
def test_spec_table(value: int, name: str, word: str) -> None:
    """A wrong wire value or stat word would mislabel every receipt of that state."""
    state = MessageState(value)
    assert state.name == name
    assert stat_word(state) == word
    assert state_from_stat(word) is state


def test_every_state_has_a_word() -> None:
    """A state added without a word would crash receipt generation."""
    assert {stat_word(s) for s in MessageState} == {w for _, _, w in SPEC_TABLE}


@pytest.mark.parametrize("word", ["ACKED", "BUFFRED", "BUFFERD", "acked", " buffred "])
def test_kannel_intermediate_words_are_enroute(word: str) -> None:
    """Treating buffered words as unknown would fail messages that are still travelling."""
    assert state_from_stat(word) is S.ENROUTE


@pytest.mark.parametrize("word", ["delivrd", "Delivrd", " DELIVRD ", "DELIVRD\t"])
def test_stat_words_ignore_case_and_spaces(word: str) -> None:
    """Vendors vary case and padding; a strict match would turn deliveries into failures."""
    assert state_from_stat(word) is S.DELIVERED


@pytest.mark.parametrize("word", ["FAILED", "DELIVERED", "", "ND", "UNDELIVERABLE"])
def test_unknown_words_are_unknown(word: str) -> None:
    """An unknown word must become UNKNOWN (kept, failure class), not an exception (Jasmin #447)."""
    assert state_from_stat(word) is S.UNKNOWN


@given(st.text())
def test_any_word_reads_without_error(word: str) -> None:
    """No vendor word may raise: a crash here would drop the whole receipt."""
    assert isinstance(state_from_stat(word), MessageState)


@pytest.mark.parametrize("value", [-1, 10, 255, 1 << 40])
def test_out_of_table_tlv_state_is_unknown(value: int) -> None:
    """A vendor's message_state outside 0..9 must read as UNKNOWN, not raise."""
    assert state_from_int(value) is S.UNKNOWN


def test_tlv_state_reads_table_values() -> None:
    """In-table message_state values must map to themselves."""
    assert [state_from_int(v) for v in range(10)] == list(MessageState)


# state: (final, success)
CLASSES = {
    S.SCHEDULED: (False, False),
    S.ENROUTE: (False, False),
    S.DELIVERED: (True, True),
    S.EXPIRED: (True, False),
    S.DELETED: (True, False),
    S.UNDELIVERABLE: (True, False),
    S.ACCEPTED: (True, True),
    S.UNKNOWN: (True, False),
    S.REJECTED: (True, False),
    S.SKIPPED: (True, False),
}


@pytest.mark.parametrize("state", list(MessageState))
def test_classes(state: MessageState) -> None:
    """Wrong classes would keep correlations forever or report failures as successes."""
    assert (is_final(state), is_success(state)) == CLASSES[state]


# Expected receipts per registered_delivery low bits (bits 1-0 plus bit 4), written out by hand.
# Columns follow MessageState order: SCHED ENROUTE DELIV EXPIR DELET UNDEL ACCEP UNKNO REJEC SKIPP
_ = False
Y = True
RECEIPT_TABLE: dict[int, tuple[bool, ...]] = {
    0x00: (_, _, _, _, _, _, _, _, _, _),
    0x01: (_, _, Y, Y, Y, Y, Y, Y, Y, Y),
    0x02: (_, _, _, Y, Y, Y, _, Y, Y, Y),
    0x03: (_, _, Y, _, _, _, Y, _, _, _),
    0x10: (Y, Y, _, _, _, _, _, _, _, _),
    0x11: (Y, Y, Y, Y, Y, Y, Y, Y, Y, Y),
    0x12: (Y, Y, _, Y, Y, Y, _, Y, Y, Y),
    0x13: (Y, Y, Y, _, _, _, Y, _, _, _),
}


@pytest.mark.parametrize("registered_delivery", range(256))
def test_wants_receipt_for_every_registered_delivery_and_state(registered_delivery: int) -> None:
    """Bits 1-0 and 4 decide; SME-ack bits 3-2 and reserved bits 7-5 must not change the answer."""
    row = RECEIPT_TABLE[registered_delivery & 0x13]
    got = tuple(wants_receipt(registered_delivery, s) for s in MessageState)
    assert got == row


@pytest.mark.parametrize("registered_delivery", [-1, 256, 0x1FF])
def test_wants_receipt_rejects_non_octets(registered_delivery: int) -> None:
    """A value that is not one octet is a caller bug and must not be silently masked."""
    with pytest.raises(ValueError):
        wants_receipt(registered_delivery, S.DELIVERED)
