"""The customer store."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    since TEXT NOT NULL
);
"""

POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id    BIGINT PRIMARY KEY,
    name  TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    since TEXT NOT NULL
);
"""

SEED = [
    (1, "Ada Lovelace", "ada@example.org", "2015-12-10"),
    (2, "Grace Hopper", "grace@example.org", "2016-12-09"),
    (3, "Alan Turing", "alan@example.org", "2017-06-23"),
]


def seed(conn) -> None:
    conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", SEED)


def customer_dict(row) -> dict:
    return {k: row[k] for k in ("id", "name", "email", "since")}


def all_customers(db) -> list[dict]:
    return [customer_dict(r) for r in db.query("SELECT * FROM customers ORDER BY id")]


def customer(db, customer_id: int) -> dict | None:
    rows = db.query("SELECT * FROM customers WHERE id = ?", (customer_id,))
    return customer_dict(rows[0]) if rows else None
