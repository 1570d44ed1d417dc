"""Python interceptors for tests/integration/test_python_interceptors.py.

The test installs them as entry points in the group `smscd.interceptors` by writing a
dist-info directory next to sys.path, exactly as pip would; nothing here runs on import.
"""
from __future__ import annotations

import threading
from dataclasses import replace

from routing.interceptor_actions import Reject
from routing.routable import MO, Routable
from smscd.smpp.status import CommandStatus

ENTERED = threading.Event()     # set when `gated` starts
GATE = threading.Event()        # the test sets it to let `gated` return

NOT_CALLABLE = 42


def upper_source(routable: Routable) -> Routable:
    return replace(routable, source_addr=routable.source_addr.upper())


def refuse_premium(routable: Routable) -> Routable | Reject:
    if routable.destination_addr.startswith("0900"):
        return Reject(CommandStatus.ESME_RINVDSTADR, 403, "premium numbers are barred")
    return routable


def broken(routable: Routable) -> Routable:
    raise RuntimeError("HLR unreachable")


def wrong_result(routable: Routable) -> str:
    return "yes"


def turns_mo(routable: Routable) -> Routable:
    return replace(routable, direction=MO)


def gated(routable: Routable) -> Routable:
    ENTERED.set()
    GATE.wait()
    return routable
