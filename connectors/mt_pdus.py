# tests: tests/unit/test_mt_pdus.py
"""What a connector sends and decides, as pure functions: the submit_sm for one part of a
Message, the retry delay, the error code reported for a failed part, and how a vendor's
answer is classified. No Twisted, no clock: `now` is an argument.

Rules:
- The message's own fields win. The connector's default TON/NPI/data_coding apply only
  where the message has 0 (unknown / SMSC default) and the connector sets a default.
  data_coding is relabelled, never re-encoded: set it only for a vendor whose default
  alphabet differs from the one the customer side encodes data_coding 0 in.
- registered_delivery: `as_requested` passes the customer's bits; `always` asks the vendor
  for a final receipt (keeping the customer's intermediate bit) so that every part can be
  settled; `never` asks for nothing.
- esm_class is the message's bits OR the part's (UDHI); TLVs are the message's then the
  part's (SAR, message_payload).
- schedule_delivery_time is never sent: the queue holds scheduled messages back. A message
  with expires_at gets the remaining time as a relative validity_period.
The submit_sm is built once per part sent, so it is filled the way the codec fills the PDUs
it decodes (instance __dict__, see smscd/smpp/pdu.py) and validity periods, which a burst of
messages shares to the second, are formatted once per number of seconds.
"""
from __future__ import annotations

import math
from datetime import timedelta
from enum import Enum
from functools import lru_cache

from smscd.message import Message
from smscd.smpp.pdu import SubmitSm
from smscd.smpp.smpp_time import format_relative
from smscd.smpp.status import BACKPRESSURE, CommandStatus as S, is_transient
from connectors.connector_config import ConnectorConfig

_FINAL_RECEIPT = 0x01          # SMSC delivery receipt on success and failure (3.4 §5.2.17)
_INTERMEDIATE = 0x10
_MAX_VALIDITY = timedelta(days=99 * 365)
# Not a problem of the message: the session was not ready for it.
_ALSO_TRANSIENT = frozenset({S.ESME_RINVBNDSTS})


class Outcome(Enum):
    ACCEPTED = "accepted"          # ESME_ROK: correlate, then ack
    BACKPRESSURE = "backpressure"  # slow down, send again, not a failed attempt
    TRANSIENT = "transient"        # retry later, counts as an attempt
    PERMANENT = "permanent"        # the vendor will never take it: part REJECTED


def classify(status: int) -> Outcome:
    if status == S.ESME_ROK:
        return Outcome.ACCEPTED
    if status in BACKPRESSURE:
        return Outcome.BACKPRESSURE
    if is_transient(status) or status in _ALSO_TRANSIENT:
        return Outcome.TRANSIENT
    return Outcome.PERMANENT


def error_code(status: int) -> str:
    """The code reported for a failed part: the SMPP status, three hex digits (Jasmin style)."""
    return f"{status:03X}"


# Reported when retries ran out without a status (timeouts, lost binds).
NO_STATUS_ERROR = error_code(S.ESME_RUNKNOWNERR)


def retry_delay(attempts: int, base: float, cap: float) -> float:
    """Delay before the next try of an entry already retried `attempts` times: doubling."""
    return min(cap, base * 2.0 ** min(attempts, 60))


def registered_delivery(requested: int, policy: str) -> int:
    if policy == "always":
        return (requested & _INTERMEDIATE) | _FINAL_RECEIPT
    if policy == "never":
        return 0
    return requested


def validity_period(expires_at: float | None, now: float) -> str:
    if expires_at is None:
        return ""
    return _relative(max(1, math.ceil(expires_at - now)))


@lru_cache(maxsize=1024)
def _relative(seconds: int) -> str:
    return format_relative(min(timedelta(seconds=seconds), _MAX_VALIDITY))


_SUBMIT_SM_DEFAULTS = dict(SubmitSm().__dict__)
_new = object.__new__


def submit_sm_for(message: Message, index: int, cfg: ConnectorConfig, now: float) -> SubmitSm:
    """The submit_sm carrying part `index` of `message` to this connector's vendor."""
    part = message.parts[index]
    src, dst = message.source, message.destination
    pdu: SubmitSm = _new(SubmitSm)
    pdu.__dict__.update(
        _SUBMIT_SM_DEFAULTS,
        service_type=message.service_type,
        source_addr_ton=src.ton or (cfg.source_ton or 0),
        source_addr_npi=src.npi or (cfg.source_npi or 0),
        source_addr=src.addr,
        dest_addr_ton=dst.ton or (cfg.dest_ton or 0),
        dest_addr_npi=dst.npi or (cfg.dest_npi or 0),
        destination_addr=dst.addr,
        esm_class=message.esm_class | part.esm_class,
        protocol_id=message.protocol_id,
        priority_flag=message.priority,
        validity_period=validity_period(message.expires_at, now),
        registered_delivery=registered_delivery(message.registered_delivery,
                                                cfg.registered_delivery),
        data_coding=message.data_coding or (cfg.data_coding or 0),
        short_message=part.short_message,
        tlvs=message.tlvs + part.tlvs)
    return pdu
