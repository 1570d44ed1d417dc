# tests: tests/integration/test_rest_idempotency.py
"""Idempotency-Key: a retried POST gets the first answer and sends nothing twice.

Rules:
- Scope: (user, key). The fingerprint is SHA-256 of method, path and body: the same key
  with another fingerprint is 409 `idempotency_conflict`.
- A request whose key is in flight in this process waits for the first one's answer
  (two identical concurrent requests send once); a different body is 409 at once.
- Answers kept (durably, 24 h, smscd.stores.sqlite_idempotency) are the ones a retry
  must repeat: 2xx, 400, 404, 409, 413, 415 and 422. Others (401, 402, 403, 429, 5xx)
  depend on the moment, so a retry runs again.
- A request that sends (POST /v1/messages, /v1/messages/batch) writes its record in the
  same durable change as its messages (`Keep`: the answer is known before the commit, as
  the ids are made before and refusals are decided), so after a crash there are both or
  neither: a retry never sends twice. Any other answer is written after it is decided
  and before it is sent (nothing was sent, so a lost record only runs it again).
- A key is 1..255 printable ASCII characters, else 400 `invalid_request` (header field).
"""
from __future__ import annotations

import hashlib
from functools import partial
from typing import Awaitable, Callable, Protocol

from twisted.internet.defer import Deferred

from smscd.stores.interfaces import AlsoRows
from smscd.stores.sqlite_idempotency import StoredResponse

from .errors import ApiError

KEPT = frozenset({400, 404, 409, 413, 415, 422})
Answer = tuple[int, bytes]


class Store(Protocol):
    def get(self, uid: str, key: str) -> Deferred[StoredResponse | None]: ...
    def put(self, uid: str, key: str, response: StoredResponse) -> Deferred[None]: ...
    def rows(self, uid: str, key: str, response: StoredResponse) -> AlsoRows: ...


def kept(status: int) -> bool:
    return 200 <= status < 300 or status in KEPT


class Keep:
    """One request's record, for a handler that commits it with the messages it sends:
    `rows(status, body)` gives the rows to write in that change; the handler sets
    `committed` once that change is durable, and `answer` is then the answer."""
    __slots__ = ("_rows_for", "_print", "answer", "committed")

    def __init__(self, rows_for: Callable[[StoredResponse], AlsoRows], print_: str) -> None:
        self._rows_for = rows_for
        self._print = print_
        self.answer: Answer | None = None
        self.committed = False

    def rows(self, status: int, body: bytes) -> AlsoRows:
        if not kept(status):
            return ()
        self.answer = (status, body)
        return self._rows_for(StoredResponse(self._print, status, body))


def fingerprint(method: bytes, path: bytes, body: bytes) -> str:
    return hashlib.sha256(method + b" " + path + b"\n" + body).hexdigest()


def check_key(key: str) -> None:
    if not 1 <= len(key) <= 255 or not all(32 < ord(c) < 127 for c in key):
        raise ApiError(400, "invalid_request",
                       "Idempotency-Key: 1 to 255 printable ASCII characters",
                       "Idempotency-Key")


class Idempotency:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._in_flight: dict[tuple[str, str], tuple[str, list[Deferred[Answer]]]] = {}

    async def run(self, uid: str, key: str, print_: str,
                  handle: Callable[[Keep], Awaitable[Answer]]) -> tuple[Answer, bool]:
        """The answer, and whether it is a replay of an earlier one."""
        check_key(key)
        slot = (uid, key)
        running = self._in_flight.get(slot)
        if running is not None:
            if running[0] != print_:
                raise _conflict()
            waiter: Deferred[Answer] = Deferred()
            running[1].append(waiter)
            return await waiter, True
        self._in_flight[slot] = (print_, [])
        try:
            answer, replay = await self._first(uid, key, print_, handle)
        except BaseException as e:
            for w in self._in_flight.pop(slot)[1]:
                w.errback(e)
            raise
        for w in self._in_flight.pop(slot)[1]:
            w.callback(answer)
        return answer, replay

    async def _first(self, uid: str, key: str, print_: str,
                     handle: Callable[[Keep], Awaitable[Answer]]) -> tuple[Answer, bool]:
        stored = await self.store.get(uid, key)
        if stored is not None:
            if stored.fingerprint != print_:
                raise _conflict()
            return (stored.status, stored.body), True
        keep = Keep(partial(self.store.rows, uid, key), print_)
        answer = await handle(keep)
        if keep.committed and keep.answer is not None:
            return keep.answer, False
        if kept(answer[0]):
            await self.store.put(uid, key, StoredResponse(print_, *answer))
        return answer, False


def _conflict() -> ApiError:
    return ApiError(409, "idempotency_conflict",
                    "This Idempotency-Key was used with a different request.",
                    "Idempotency-Key")
