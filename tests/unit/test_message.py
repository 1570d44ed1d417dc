"""The message model's stored form: round trips, refuses what it cannot read, ids are unique."""
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smscd.ids import new_message_id
from smscd.message import (Address, Message, Part, UnsupportedFormat, _as_dict,
                           dump_message, load_message)
from smscd.smpp.tlv import Tlv, tlvs

texts = st.text(max_size=20)
ints = st.integers(min_value=0, max_value=255)
addresses = st.builds(Address, texts, ints, ints)
tlv_values = st.one_of(
    st.builds(lambda v: tlvs(user_message_reference=v)[0], st.integers(0, 65535)),
    st.builds(lambda v: tlvs(receipted_message_id=v)[0], st.text(max_size=10)),
    st.builds(lambda v: Tlv(0x1401, v), st.binary(max_size=10)),
)
messages = st.builds(
    Message, id=st.just(new_message_id()), user=texts, source=addresses, destination=addresses,
    parts=st.lists(st.builds(Part, st.binary(max_size=140), ints,
                             st.lists(tlv_values, max_size=3).map(tuple)),
                   min_size=1, max_size=3).map(tuple),
    created_at=st.floats(0, 2e9), priority=st.integers(0, 3),
    tlvs=st.lists(tlv_values, max_size=3).map(tuple),
    schedule_at=st.none() | st.floats(0, 2e9), expires_at=st.none() | st.floats(0, 2e9),
    template=st.none() | texts, idempotency_key=st.none() | texts,
    extra=st.dictionaries(texts, texts, max_size=3))


@given(messages)
def test_round_trip(message):
    """A stored message must come back equal, TLVs and bytes included."""
    assert load_message(dump_message(message)) == message


@given(messages)
def test_stored_form_is_json_dumps_of_the_dict(message):
    """dump_message formats the usual message itself: its bytes must be json.dumps's."""
    assert dump_message(message) == json.dumps(_as_dict(message), separators=(",", ":")).encode()


@pytest.mark.parametrize("changes", [
    {"created_at": 5}, {"expires_at": float("inf")}, {"schedule_at": float("nan")},
    {"priority": True}, {"user": None}, {"tlvs": tlvs(user_message_reference=7)},
    {"user": "é\u2028\"\\"}, {"extra": {"tags": "a,b"}}, {"tlvs": (Tlv(0x1401, True),)},
    {"tlvs": (Tlv(0x1401, "é"), Tlv(0x1402, b"\x00"), Tlv(0x1403, 7))}])
def test_unusual_fields_are_stored_as_json_dumps_stores_them(changes):
    """Ints that are not exactly int, non-finite floats, a str field that is None: the
    fallback must give exactly what json.dumps gives."""
    message = Message(**{**dict(id="x", user="u", source=Address("1"),
                                destination=Address("2"), parts=(Part(b"hi"),),
                                created_at=0.5), **changes})
    assert dump_message(message) == json.dumps(_as_dict(message), separators=(",", ":")).encode()


def test_unknown_version_is_refused():
    """A newer or foreign format must be refused, not misread."""
    data = json.loads(dump_message(Message("x", "u", Address("1"), Address("2"),
                                           (Part(b"hi"),), 0.0)))
    data["v"] = 2
    with pytest.raises(UnsupportedFormat):
        load_message(json.dumps(data).encode())


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"v":1}',
                                  b'{"v":1,"id":5}', b"\xff\xfe"])
def test_garbage_raises_unsupported_format(data):
    """Corrupt stored data must raise one clear error type, never something else."""
    with pytest.raises(UnsupportedFormat):
        load_message(data)


def test_ids_are_unique_short_and_time_ordered():
    """Ids must never repeat, fit SMPP's 64 characters, and sort by creation time."""
    ids = [new_message_id(1_700_000_000.0 + i) for i in range(1000)]
    assert len(set(ids)) == 1000
    assert all(len(i) == 32 for i in ids)
    assert ids == sorted(ids)


def test_ids_of_a_forked_child_are_not_its_parents():
    """Ids take their random bits from a buffer: breaks if a forked child reuses the
    parent's buffered bits (the two would hand out the same ids)."""
    import os
    new_message_id()                         # fill the buffer in the parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                             # the child: write one id and leave
        os.write(write, new_message_id(0.0).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert len(child) == 32 and child != new_message_id(0.0)
