# tests: tests/unit/test_routing_filters.py
"""What the routers and interceptors see of a message: one flat, frozen record.

The daemon builds a Routable from a `smscd.message.Message` (MT) or an inbound
deliver_sm/data_sm (MO), asks the tables, and applies what an interceptor changed back
to the message. Routing never imports the daemon's message model, so this record is the
whole contract between them.

`content` is the decoded text of the first part; the daemon fills it only when a table
says it needs it (`needs_content`), since decoding costs on the hot path.
`tlvs` are (tag, value octets) that interceptors set; the daemon passes them upstream.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MT = "mt"
MO = "mo"


@dataclass(frozen=True, slots=True)
class Routable:
    direction: str                      # MT or MO
    at: datetime                        # when the decision is made; timezone-aware
    user: str = ""                      # uid of the submitting customer (MT)
    group: str = ""                     # gid of that user (MT)
    connector: str = ""                 # connector it came in on (MO)
    channel: str = "smpp"               # "smpp" or "http": where it came from (MT)
    source_addr: str = ""
    source_ton: int = 0
    source_npi: int = 0
    destination_addr: str = ""
    dest_ton: int = 0
    dest_npi: int = 0
    content: str = ""
    data_coding: int = 0
    priority: int = 0
    registered_delivery: int = 0
    tags: frozenset[str] = frozenset()
    tlvs: tuple[tuple[int, bytes], ...] = ()
