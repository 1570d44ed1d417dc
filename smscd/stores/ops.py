# tests: tests/integration/test_sqlite_store.py
"""The kinds of op the group-commit writer runs.

- a plain callable `op(conn) -> result`: runs in submission order, alone;
- `Rows`: rows for known `Statement`s and a fixed result. In a batch, the rows of every
  `Rows` op between two plain callables are written per statement with multi-row SQL
  (`VALUES (..), (..)` or `IN (?, ?)`), in order of first appearance: a few statements
  instead of one per op, which matters because every statement releases and re-takes the
  GIL (convoy with the reactor thread). Use `Rows` only for rows that commute with the other
  `Rows` kinds of a batch: inserts of new keys, upserts of their own columns, deletes by id;
  rows of one statement keep their order;
- `Read`: a callable that changes nothing; runs after the batch's writes, so it sees every
  change submitted before it (and maybe some submitted after it, in the same commit).
Every kind can also run alone (`op(conn)`): that is what the savepoint re-run does.
"""
from __future__ import annotations

import sqlite3
from itertools import chain
from typing import Any, Callable, Generic, Sequence, TypeVar

T = TypeVar("T")

_CHUNKS = (256, 128, 64, 32, 16, 8, 4, 2, 1)   # few SQL texts: sqlite3 caches them all
_flat = chain.from_iterable                    # a third faster than a nested comprehension


class Statement:
    """`head` + `row` repeated with `sep` + `tail`, e.g. INSERT ... VALUES (?, ?), (?, ?)."""
    __slots__ = ("head", "row", "sep", "tail", "_sql")

    def __init__(self, head: str, row: str, tail: str = "", sep: str = ", ") -> None:
        self.head, self.row, self.tail, self.sep = head, row, tail, sep
        self._sql: dict[int, str] = {}

    def sql(self, n: int) -> str:
        text = self._sql.get(n)
        if text is None:
            text = self._sql[n] = self.head + self.sep.join([self.row] * n) + self.tail
        return text

    def write(self, conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        i, n = 0, len(rows)
        for size in _CHUNKS:
            while n - i >= size:
                if size == 1:
                    conn.execute(self.sql(1), rows[i])
                else:
                    conn.execute(self.sql(size), [*_flat(rows[i:i + size])])
                i += size


class Rows(Generic[T]):
    __slots__ = ("rows", "result")

    def __init__(self, rows: tuple[tuple[Statement, tuple[Any, ...]], ...],
                 result: T = None) -> None:  # type: ignore[assignment]
        self.rows = rows
        self.result = result

    def __call__(self, conn: sqlite3.Connection) -> T:
        for statement, row in self.rows:
            conn.execute(statement.sql(1), row)
        return self.result


class Read(Generic[T]):
    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[sqlite3.Connection], T]) -> None:
        self.fn = fn

    def __call__(self, conn: sqlite3.Connection) -> T:
        return self.fn(conn)


def run_merged(conn: sqlite3.Connection, ops: Sequence[Callable[[sqlite3.Connection], Any]],
               results: list[tuple[bool, Any]]) -> None:
    """Run a batch's ops the fast way (see module doc); any exception propagates."""
    buckets: dict[Statement, list[tuple[Any, ...]]] = {}
    reads: list[tuple[int, Read[Any]]] = []
    for op in ops:
        kind = type(op)
        if kind is Rows:
            for statement, row in op.rows:             # type: ignore[attr-defined]
                rows = buckets.get(statement)
                if rows is None:
                    buckets[statement] = [row]
                else:
                    rows.append(row)
            results.append((True, op.result))          # type: ignore[attr-defined]
        elif kind is Read:
            reads.append((len(results), op))           # type: ignore[arg-type]
            results.append((True, None))
        else:
            _flush(conn, buckets)
            results.append((True, op(conn)))
    _flush(conn, buckets)
    for index, read in reads:
        results[index] = (True, read(conn))


def _flush(conn: sqlite3.Connection, buckets: dict[Statement, list[tuple[Any, ...]]]) -> None:
    for statement, rows in buckets.items():
        statement.write(conn, rows)
    buckets.clear()
