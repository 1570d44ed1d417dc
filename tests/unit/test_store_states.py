"""A message's overall state from its parts (what query_sm answers)."""
import pytest

from smscd.smpp.message_state import MessageState as M
from smscd.stores.states import overall_state


@pytest.mark.parametrize("parts, expected", [
    ([None], M.ENROUTE),
    ([M.DELIVERED], M.DELIVERED),
    ([M.DELIVERED, None], M.ENROUTE),
    ([M.DELIVERED, M.DELIVERED], M.DELIVERED),
    ([M.DELIVERED, M.ACCEPTED], M.ACCEPTED),
    ([M.DELIVERED, M.UNDELIVERABLE], M.UNDELIVERABLE),
    ([None, M.REJECTED, M.EXPIRED], M.REJECTED),
    ([M.ENROUTE, M.UNKNOWN], M.UNKNOWN),
    ([M.DELETED, M.DELETED], M.DELETED),
])
def test_overall_state(parts: list[M | None], expected: M) -> None:
    """Breaks if query_sm reports a long message delivered while a part is still travelling
    or failed, or reports it travelling once every part is final."""
    assert overall_state(parts) is expected
