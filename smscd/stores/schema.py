# tests: tests/integration/test_sqlite_store.py
"""The embedded store's schema and its migrations.

MIGRATIONS[i] takes a database from version i to i + 1; a released migration is never
edited, only followed by a new one. `migrate` runs the missing ones at open, each in its
own transaction with the version bump, and refuses a database newer than this code.
Payload and body columns hold bytes the callers gave (versioned JSON for messages); nothing
is pickled.
"""
from __future__ import annotations

import sqlite3

from smscd.stores.interfaces import StoreError

MIGRATIONS: list[tuple[str, ...]] = [
    (   # 1: queues, dead letters, message log, correlations, users
        """CREATE TABLE queue_entries (
            id INTEGER PRIMARY KEY,
            queue TEXT NOT NULL,
            key TEXT NOT NULL,
            payload BLOB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            available_at REAL NOT NULL,
            expires_at REAL,
            last_error TEXT NOT NULL DEFAULT '')""",
        """CREATE TABLE dead_letters (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            queue TEXT NOT NULL,
            key TEXT NOT NULL,
            payload BLOB NOT NULL,
            attempts INTEGER NOT NULL,
            reason TEXT NOT NULL,
            dead_at REAL NOT NULL,
            expires_at REAL)""",
        "CREATE INDEX dead_letters_by_queue ON dead_letters (queue, id)",
        # A rowid table with a small unique index, not WITHOUT ROWID: bodies of a few hundred
        # octets make a clustered B-tree split often (measured: a full life costs 1.5x more).
        """CREATE TABLE messages (
            id TEXT NOT NULL UNIQUE,
            user TEXT NOT NULL,
            accepted_at REAL NOT NULL,
            body BLOB NOT NULL)""",
        """CREATE TABLE message_parts (
            message_id TEXT NOT NULL,
            part_index INTEGER NOT NULL,
            connector TEXT,
            vendor_id TEXT,
            sent_at REAL,
            state INTEGER,
            error TEXT NOT NULL DEFAULT '',
            state_at REAL,
            PRIMARY KEY (message_id, part_index)) WITHOUT ROWID""",
        """CREATE TABLE correlations (
            connector TEXT NOT NULL,
            vendor_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            part_index INTEGER NOT NULL,
            expires_at REAL NOT NULL,
            PRIMARY KEY (connector, vendor_id)) WITHOUT ROWID""",
        "CREATE INDEX correlations_by_expiry ON correlations (expires_at)",
        """CREATE TABLE users (
            username TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            max_bindings INTEGER NOT NULL,
            throughput REAL,
            created_at REAL NOT NULL) WITHOUT ROWID""",
    ),
    (   # 2: groups and the users' Jasmin-style credentials (users/credentials work).
        # Users of version 1 keep their name as uid, join group "default", and keep their
        # max_bindings and throughput as smpps max_bindings and smpps_throughput.
        """CREATE TABLE groups (
            gid TEXT PRIMARY KEY,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at REAL NOT NULL) WITHOUT ROWID""",
        """INSERT INTO groups (gid, enabled, created_at)
            VALUES ('default', 1, (julianday('now') - 2440587.5) * 86400.0)""",
        """CREATE TABLE users_v2 (
            uid TEXT PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            gid TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            mt_credential TEXT NOT NULL,
            smpps_credential TEXT NOT NULL,
            created_at REAL NOT NULL) WITHOUT ROWID""",
        """INSERT INTO users_v2 (uid, username, password_hash, gid, enabled, mt_credential,
                                 smpps_credential, created_at)
            SELECT username, username, password_hash, 'default', 1,
                   CASE WHEN throughput IS NULL OR throughput <= 0 THEN '{"v":1}'
                        ELSE json_object('v', 1, 'quota',
                                         json_object('smpps_throughput', throughput)) END,
                   json_object('v', 1, 'quota', json_object('max_bindings', max_bindings)),
                   created_at
            FROM users""",
        "DROP TABLE users",
        "ALTER TABLE users_v2 RENAME TO users",
        "CREATE INDEX users_by_gid ON users (gid)",
    ),
    (   # 3: provisioning documents: filters, routes, interceptors, connectors (service work)
        """CREATE TABLE provisioning (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (kind, id)) WITHOUT ROWID""",
    ),
    (   # 4: billing: accounts, their journal of deltas, per-message billing records
        # Amounts are decimal strings (str(Decimal)), never REAL.
        """CREATE TABLE billing_accounts (
            uid TEXT PRIMARY KEY,
            balance TEXT,
            sms_count INTEGER,
            currency TEXT,
            updated_at REAL) WITHOUT ROWID""",
        """CREATE TABLE billing_journal (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL,
            balance_delta TEXT,
            sms_delta INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE billing_records (
            message_id TEXT NOT NULL UNIQUE,
            uid TEXT NOT NULL,
            route TEXT NOT NULL,
            connector TEXT NOT NULL,
            channel TEXT NOT NULL,
            parts INTEGER NOT NULL,
            rate TEXT NOT NULL,
            early_percent INTEGER,
            currency TEXT NOT NULL,
            prepaid INTEGER NOT NULL,
            counts_sms INTEGER NOT NULL,
            part_states TEXT NOT NULL,
            amount TEXT NOT NULL,
            held TEXT NOT NULL,
            captured TEXT NOT NULL,
            released TEXT NOT NULL,
            state TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL)""",
        "CREATE INDEX billing_records_by_time ON billing_records (created_at)",
        "CREATE INDEX billing_records_held ON billing_records (state) WHERE state = 'held'",
    ),
    (   # 5: parts of multipart MO waiting for the rest of their message (core-path work)
        """CREATE TABLE mo_parts (
            connector TEXT NOT NULL,
            group_key TEXT NOT NULL,
            part_index INTEGER NOT NULL,
            body BLOB NOT NULL,
            received_at REAL NOT NULL,
            PRIMARY KEY (connector, group_key, part_index)) WITHOUT ROWID""",
    ),
    (   # 6: REST API: API keys (hashed), idempotency keys, webhook endpoints, stored MO,
        # and the per-user listing of messages (REST work)
        """CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            uid TEXT NOT NULL,
            label TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            revoked_at REAL) WITHOUT ROWID""",
        "CREATE INDEX api_keys_by_uid ON api_keys (uid)",
        """CREATE TABLE idempotency (
            uid TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            status INTEGER NOT NULL,
            body BLOB NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (uid, key)) WITHOUT ROWID""",
        "CREATE INDEX idempotency_by_time ON idempotency (created_at)",
        """CREATE TABLE webhook_endpoints (
            id TEXT PRIMARY KEY,
            uid TEXT NOT NULL,
            url TEXT NOT NULL,
            events TEXT NOT NULL,
            secret TEXT NOT NULL,
            created_at REAL NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE inbound_messages (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL,
            received_at REAL NOT NULL,
            body TEXT NOT NULL)""",
        "CREATE INDEX inbound_by_uid ON inbound_messages (uid, id)",
        "CREATE INDEX messages_by_user ON messages (user, accepted_at)",
    ),
    (   # 7: per-message history (GET /v1/messages/{id}): one row per event after the
        # acceptance, written in the same statements as the change it records.
        # part_index NULL: the whole message.
        # A rowid table appended in time order; its small index finds one message's rows.
        """CREATE TABLE message_events (
            message_id TEXT NOT NULL,
            part_index INTEGER,
            at REAL NOT NULL,
            event TEXT NOT NULL,
            state INTEGER,
            error TEXT NOT NULL DEFAULT '',
            connector TEXT,
            vendor_id TEXT)""",
        "CREATE INDEX message_events_by_message ON message_events (message_id)",
        # What older stores know already becomes history: sendings and states (the
        # "accepted" event is read from the messages row itself).
        """INSERT INTO message_events (message_id, part_index, at, event, connector, vendor_id)
            SELECT message_id, part_index, sent_at, 'sent', connector, vendor_id
            FROM message_parts WHERE sent_at IS NOT NULL""",
        """INSERT INTO message_events (message_id, part_index, at, event, state, error)
            SELECT message_id, part_index, state_at,
                   CASE WHEN cancelled THEN 'cancelled' ELSE 'state' END, state,
                   CASE WHEN cancelled THEN '' ELSE error END
            FROM (SELECT *, state = 4 AND error = 'cancelled' AS cancelled  -- 4: DELETED
                  FROM message_parts WHERE state_at IS NOT NULL)""",
    ),
]

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return 0 if row is None else int(row[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database (autocommit connection) to SCHEMA_VERSION; returns the old version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        old = schema_version(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if old > SCHEMA_VERSION:
        raise StoreError(f"database schema version {old} is newer than this smscd "
                         f"(knows up to {SCHEMA_VERSION}); refusing to open it")
    for version in range(old, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return old
