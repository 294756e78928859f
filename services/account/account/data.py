"""The account store: one balance per customer and an append-only ledger explaining it."""

from servicekit.app import now

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    customer_id   INTEGER PRIMARY KEY,
    currency      TEXT    NOT NULL,
    balance_cents INTEGER NOT NULL CHECK (balance_cents >= 0)
);
CREATE TABLE IF NOT EXISTS ledger (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  INTEGER NOT NULL REFERENCES accounts (customer_id),
    kind         TEXT    NOT NULL CHECK (kind IN ('credit', 'debit')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    reference    TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    -- A reference is charged at most once: this is what makes a retried debit harmless.
    UNIQUE (customer_id, reference)
);
"""

# The same tables in PostgreSQL (servicekit.postgres), shared by every replica of account.
POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    customer_id   BIGINT PRIMARY KEY,
    currency      TEXT   NOT NULL,
    balance_cents BIGINT NOT NULL CHECK (balance_cents >= 0)
);
CREATE TABLE IF NOT EXISTS ledger (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES accounts (customer_id),
    kind         TEXT   NOT NULL CHECK (kind IN ('credit', 'debit')),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    reference    TEXT   NOT NULL,
    created_at   TEXT   NOT NULL,
    UNIQUE (customer_id, reference)
);
"""

OPENING_BALANCE_CENTS = 10_000
# Debits matching the order service's seed orders, so both stores tell the same story.
SEED_DEBITS = [(1, 700, "order-1"), (2, 300, "order-2"), (1, 250, "order-3")]


def seed(conn) -> None:
    for customer_id in (1, 2, 3):
        conn.execute("INSERT INTO accounts VALUES (?, 'EUR', ?)", (customer_id, OPENING_BALANCE_CENTS))
        _insert(conn, customer_id, "credit", OPENING_BALANCE_CENTS, "opening balance")
    for customer_id, amount, reference in SEED_DEBITS:
        conn.execute("UPDATE accounts SET balance_cents = balance_cents - ? WHERE customer_id = ?", (amount, customer_id))
        _insert(conn, customer_id, "debit", amount, reference)


def _insert(conn, customer_id, kind, amount, reference) -> int:
    return conn.execute(
        "INSERT INTO ledger (customer_id, kind, amount_cents, reference, created_at) VALUES (?, ?, ?, ?, ?)"
        " RETURNING id",
        (customer_id, kind, amount, reference, now()),
    ).fetchone()["id"]


def entry_dict(row) -> dict:
    return {k: row[k] for k in ("id", "kind", "amount_cents", "reference", "created_at")}


class NotFound(Exception):
    pass


class Conflict(Exception):
    def __init__(self, error: str, detail: str, balance_cents: int):
        super().__init__(error)
        self.error, self.detail, self.balance_cents = error, detail, balance_cents


def post(db, customer_id: int, kind: str, amount: int, reference: str) -> tuple[dict, int, bool]:
    """Add a ledger entry; returns (entry, new balance, created). Same reference again: the first entry."""
    with db.transaction() as conn:
        # Lock the account row first (a no-op UPDATE does it in PostgreSQL and SQLite alike): a
        # second replica posting to this account waits here, then sees this entry and balance.
        # Read-then-write without it lost updates and charged one reference twice.
        conn.execute("UPDATE accounts SET balance_cents = balance_cents WHERE customer_id = ?", (customer_id,))
        account = conn.execute("SELECT * FROM accounts WHERE customer_id = ?", (customer_id,)).fetchone()
        if account is None:
            raise NotFound()
        balance = account["balance_cents"]
        earlier = conn.execute(
            "SELECT * FROM ledger WHERE customer_id = ? AND reference = ?", (customer_id, reference)
        ).fetchone()
        if earlier is not None:
            if (earlier["kind"], earlier["amount_cents"]) != (kind, amount):
                raise Conflict("reference already used", f"{reference!r} was a {earlier['kind']} of "
                               f"{earlier['amount_cents']} cents", balance)
            return entry_dict(earlier), balance, False
        change = amount if kind == "credit" else -amount
        if balance + change < 0:
            raise Conflict("insufficient funds", f"balance is {balance} cents, {amount} needed", balance)
        if balance + change > 2**53:
            raise Conflict("balance too large", "this credit would overflow the balance", balance)
        conn.execute("UPDATE accounts SET balance_cents = ? WHERE customer_id = ?", (balance + change, customer_id))
        entry_id = _insert(conn, customer_id, kind, amount, reference)
        row = conn.execute("SELECT * FROM ledger WHERE id = ?", (entry_id,)).fetchone()
        return entry_dict(row), balance + change, True


def account(db, customer_id: int, ledger_limit: int = 10) -> dict | None:
    rows = db.query("SELECT * FROM accounts WHERE customer_id = ?", (customer_id,))
    if not rows:
        return None
    ledger = db.query(
        "SELECT * FROM ledger WHERE customer_id = ? ORDER BY id DESC LIMIT ?", (customer_id, ledger_limit)
    )
    spent = db.query(
        "SELECT COALESCE(SUM(amount_cents), 0) AS s FROM ledger WHERE customer_id = ? AND kind = 'debit'",
        (customer_id,),
    )[0]["s"]
    return {
        "customer_id": customer_id,
        "currency": rows[0]["currency"],
        "balance_cents": rows[0]["balance_cents"],
        "ledger": [entry_dict(r) for r in ledger],
        "spent_cents": spent,
    }


def loyalty(spent_cents: int) -> dict:
    """v2's feature: one point per whole euro spent, and a tier."""
    points = spent_cents // 100
    tier = "gold" if points >= 100 else "silver" if points >= 20 else "bronze"
    return {"points": points, "tier": tier}
