"""Provisioning documents in the real SQLite store: durable across reopen, one change
commits whole, versioned JSON bodies (an unknown version is refused, not guessed)."""
from __future__ import annotations

import sqlite3
from pathlib import Path
import pytest
import pytest_twisted
from twisted.internet import reactor

from smscd.stores.interfaces import StoreError
from smscd.stores.sqlite import SqliteStore
from smscd.stores.sqlite_provisioning import Document


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


async def _reopen(store: SqliteStore, path: Path) -> SqliteStore:
    await store.close()
    return SqliteStore.open(path, reactor)


@pytest_twisted.ensureDeferred
async def test_documents_survive_reopen(path: Path) -> None:
    """Breaks if a committed document is lost or altered by a restart."""
    store = SqliteStore.open(path, reactor)
    await store.provisioning.apply(puts=[
        Document("filter", "f1", {"spec": {"type": "TransparentFilter", "fid": "f1"}}),
        Document("mt_route", "0", {"spec": {"type": "DefaultRoute", "connector": "c1"}})])
    store = await _reopen(store, path)
    try:
        docs = await store.provisioning.load()
    finally:
        await store.close()
    assert docs == [
        Document("filter", "f1", {"spec": {"type": "TransparentFilter", "fid": "f1"}}),
        Document("mt_route", "0", {"spec": {"type": "DefaultRoute", "connector": "c1"}})]


@pytest_twisted.ensureDeferred
async def test_deletes_and_replace_all(path: Path) -> None:
    """Breaks if deletes miss, or replace_all keeps documents of the old set."""
    store = SqliteStore.open(path, reactor)
    try:
        p = store.provisioning
        await p.apply(puts=[Document("filter", "a", {"x": 1}), Document("filter", "b", {})])
        await p.apply(deletes=[("filter", "a")], puts=[Document("filter", "b", {"x": 2})])
        assert await p.load() == [Document("filter", "b", {"x": 2})]
        await p.apply(puts=[Document("http_connector", "h1", {})], replace_all=True)
        assert await p.load() == [Document("http_connector", "h1", {})]
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_a_failing_change_leaves_nothing(path: Path) -> None:
    """Breaks if half of a change that fails becomes durable (a body that is not JSON-safe
    fails before anything is written; a SQL failure inside the op rolls it back whole)."""
    store = SqliteStore.open(path, reactor)
    try:
        p = store.provisioning
        await p.apply(puts=[Document("filter", "keep", {})])
        with pytest.raises(TypeError):
            await p.apply(puts=[Document("filter", "x", {}),
                                Document("filter", "y", {"bad": object()})],
                          replace_all=True)
        assert await p.load() == [Document("filter", "keep", {})]
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_unknown_body_version_is_refused(path: Path) -> None:
    """Breaks if a body written by a newer smscd is read as if it were ours."""
    await SqliteStore.open(path, reactor).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO provisioning VALUES ('filter', 'f', '{\"v\": 9}', 0)")
    conn.close()
    store = SqliteStore.open(path, reactor)
    try:
        with pytest.raises(StoreError, match="body version 9"):
            await store.provisioning.load()
    finally:
        await store.close()
