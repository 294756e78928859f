"""The order store, and the idempotency table that makes a retried POST safe."""

import hashlib
import json
import secrets

from servicekit.app import now

# Prices in cents. A fixed menu keeps the domain small; amounts are computed here, never sent by clients.
CATALOG = {"coffee": 350, "tea": 300, "croissant": 250, "sandwich": 650}

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  INTEGER NOT NULL,
    item         TEXT    NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    amount_cents INTEGER NOT NULL,
    -- pending: not charged yet (account did not answer); paid; rejected (the account said no).
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'rejected')),
    created_at   TEXT    NOT NULL,
    -- What the order is charged as at account (see new_reference); added after the first release.
    reference    TEXT    UNIQUE
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, id);
CREATE TABLE IF NOT EXISTS idempotency (
    key          TEXT    PRIMARY KEY,
    request_hash TEXT    NOT NULL,
    order_id     INTEGER NOT NULL REFERENCES orders (id),
    status_code  INTEGER,          -- NULL until a final answer exists
    response     TEXT
);
"""

# The same tables in PostgreSQL (servicekit.postgres), shared by every replica of order: the
# identity column numbers orders once for all replicas.
POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  BIGINT  NOT NULL,
    item         TEXT    NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    amount_cents BIGINT  NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'rejected')),
    created_at   TEXT    NOT NULL,
    reference    TEXT    UNIQUE
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, id);
CREATE TABLE IF NOT EXISTS idempotency (
    key          TEXT    PRIMARY KEY,
    request_hash TEXT    NOT NULL,
    order_id     BIGINT  NOT NULL REFERENCES orders (id),
    status_code  INTEGER,
    response     TEXT
);
"""

# Matches account's seed ledger (references order-1, order-2, order-3).
SEED_ORDERS = [(1, "coffee", 2), (2, "tea", 1), (1, "croissant", 1)]


def seed(conn) -> None:
    for number, (customer_id, item, quantity) in enumerate(SEED_ORDERS, start=1):
        conn.execute(
            "INSERT INTO orders (customer_id, item, quantity, amount_cents, status, created_at, reference)"
            " VALUES (?, ?, ?, ?, 'paid', ?, ?)",
            (customer_id, item, quantity, CATALOG[item] * quantity, now(), f"order-{number}"),
        )


def upgrade(db) -> None:
    """A SQLite file from before the reference column (a kept volume) gets it; its orders keep order-<id>."""
    if db.dialect == "sqlite":
        with db.transaction() as conn:
            columns = [row["name"] for row in conn.execute("PRAGMA table_info(orders)").fetchall()]
            if "reference" not in columns:
                conn.execute("ALTER TABLE orders ADD COLUMN reference TEXT")


def new_reference(order_id: int) -> str:
    """order-<id>-<random>: the id alone collided when a second order store numbered from 1 again
    (a replica with its own store, a store recreated empty) and account replayed the old charge."""
    return f"order-{order_id}-{secrets.token_hex(4)}"


def order_dict(row) -> dict:
    order = {k: row[k] for k in ("id", "customer_id", "item", "quantity", "amount_cents", "status", "created_at")}
    order["reference"] = row["reference"] or f"order-{row['id']}"  # older rows were charged as order-<id>
    return order


def request_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class KeyReused(Exception):
    """The Idempotency-Key came before with a different request body."""


def begin(db, key: str | None, customer_id: int, item: str, quantity: int):
    """Record a pending order, or find the one this key already made.

    Returns (order, stored) where stored is (status_code, body) of a finished earlier
    request with the same key, or None when the caller must (re)try the charge.
    """
    fingerprint = request_hash({"customer_id": customer_id, "item": item, "quantity": quantity})

    def work(conn):
        if key is not None:
            earlier = conn.execute("SELECT * FROM idempotency WHERE key = ?", (key,)).fetchone()
            if earlier is not None:
                if earlier["request_hash"] != fingerprint:
                    raise KeyReused()
                order = conn.execute("SELECT * FROM orders WHERE id = ?", (earlier["order_id"],)).fetchone()
                stored = None
                if earlier["status_code"] is not None:
                    stored = (earlier["status_code"], json.loads(earlier["response"]))
                return order_dict(order), stored
        order_id = conn.execute(
            "INSERT INTO orders (customer_id, item, quantity, amount_cents, status, created_at)"
            " VALUES (?, ?, ?, ?, 'pending', ?) RETURNING id",
            (customer_id, item, quantity, CATALOG[item] * quantity, now()),
        ).fetchone()["id"]
        conn.execute("UPDATE orders SET reference = ? WHERE id = ?", (new_reference(order_id), order_id))
        if key is not None:
            # Two replicas given the same key at once: the second insert fails on the key, its
            # transaction (and its order) rolls back, and db.run() tries again: it finds the first.
            conn.execute("INSERT INTO idempotency (key, request_hash, order_id) VALUES (?, ?, ?)",
                         (key, fingerprint, order_id))
        order = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return order_dict(order), None

    return db.run(work)


def finish(db, order_id: int, status: str, status_code: int, body: dict) -> dict:
    """Set the order's final status and remember the answer for its key (a retry replays it)."""
    with db.transaction() as conn:
        conn.execute("UPDATE orders SET status = ? WHERE id = ?", (status, order_id))
        order = order_dict(conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone())
        body = {"order": order, **body}
        conn.execute("UPDATE idempotency SET status_code = ?, response = ? WHERE order_id = ?",
                     (status_code, json.dumps(body), order_id))
    return body


def pending_since(db, created_before: str, limit: int = 50) -> list[dict]:
    """Orders still pending that were created at or before ``created_before`` (an ISO timestamp, to the second)."""
    rows = db.query("SELECT * FROM orders WHERE status = 'pending' AND created_at <= ? ORDER BY id LIMIT ?",
                    (created_before, limit))
    return [order_dict(r) for r in rows]


def orders_of(db, customer_id: int, limit: int) -> list[dict]:
    rows = db.query("SELECT * FROM orders WHERE customer_id = ? ORDER BY id DESC LIMIT ?", (customer_id, limit))
    return [order_dict(r) for r in rows]


def order(db, order_id: int) -> dict | None:
    rows = db.query("SELECT * FROM orders WHERE id = ?", (order_id,))
    return order_dict(rows[0]) if rows else None
