"""What the interceptor tests share: a fixed time, two filters and a default MT message
(user foo, from 12345 to a French number) any field of which a test may change."""
from datetime import datetime, timezone

from routing.filters import DestinationAddrFilter, UserFilter
from routing.routable import MT, Routable

AT = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
FOO = UserFilter("U-foo", "foo")
FR = DestinationAddrFilter("DA-33", r"^33")


def mt(**kw: object) -> Routable:
    base: dict[str, object] = dict(direction=MT, at=AT, user="foo", source_addr="12345",
                                   destination_addr="33612345678")
    base.update(kw)
    return Routable(**base)  # type: ignore[arg-type]
