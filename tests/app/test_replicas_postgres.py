"""Issue 20, Critical: state that survives scaling. Two replicas of each stateful service, as two
gunicorn processes with the images' settings, each with a DATA_DIR of its own (a pod's emptyDir)
and the one DATABASE_URL of their service (database-per-service, servicekit.postgres).

On the SQLite-per-pod app each of these failed: a second order replica replayed the first one's
charge (201 "paid", no money taken), one debit sent to each account replica was charged twice, and
the replicas' balances differed.
"""

import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
import requests

from gunicorn_services import start

pytestmark = pytest.mark.slow

OPENING = 10_000 - 700 - 250  # customer 1's seed balance (account.data)
NO_SETTLER = {"ORDER_SETTLE_INTERVAL_SECONDS": "0"}


def replicas(stack: ExitStack, tmp_path, name: str, url: str, count: int = 2, **env):
    """``count`` processes of ``name`` on one database, started together (as a rollout does)."""
    with ThreadPoolExecutor(count) as pool:
        started = [pool.submit(start, tmp_path, name, n, DATABASE_URL=url, **env)
                   for n in range(1, count + 1)]
        services = [f.result() for f in started]
    for service in services:
        stack.callback(service.stop)
    return services


def order(url: str, key: str, item: str = "tea", quantity: int = 1) -> requests.Response:
    return requests.post(f"{url}/orders", json={"customer_id": 1, "item": item, "quantity": quantity},
                         headers={"Idempotency-Key": key}, timeout=15)


def account(url: str, customer_id: int = 1) -> dict:
    resp = requests.get(f"{url}/accounts/{customer_id}", timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def ledger(url: str, customer_id: int = 1) -> list[dict]:
    """Every entry (GET /accounts shows the last 10): straight from account's database."""
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT kind, amount_cents, reference FROM ledger WHERE customer_id = %s ORDER BY id",
                            (customer_id,)).fetchall()


def test_replicas_started_together_make_the_schema_and_seed_once(tmp_path, database):
    url = database("account")
    with ExitStack() as stack:
        a, b = replicas(stack, tmp_path, "account", url, count=3)[:2]
        assert account(a.url)["balance_cents"] == account(b.url)["balance_cents"] == OPENING
        assert [e[0] for e in ledger(url)] == ["credit", "debit", "debit"]


def test_a_second_order_replica_cannot_replay_the_first_ones_charge(tmp_path, database):
    account_db, order_db = database("account"), database("order")
    with ExitStack() as stack:
        (acc,) = replicas(stack, tmp_path, "account", account_db, count=1)
        first, second = replicas(stack, tmp_path, "order", order_db, ACCOUNT_URL=acc.url, **NO_SETTLER)
        answers = [order(first.url, "one", "sandwich"), order(second.url, "two", "sandwich"),
                   order(first.url, "three", "sandwich")]
        assert [r.status_code for r in answers] == [201, 201, 201], [r.text for r in answers]
        orders = [r.json()["order"] for r in answers]
        assert len({o["id"] for o in orders}) == 3 and len({o["reference"] for o in orders}) == 3
        # Every "paid" took the money: no replayed charge, no "reference already used".
        assert account(acc.url)["balance_cents"] == OPENING - 3 * 650
        charged = [e[2] for e in ledger(account_db) if e[0] == "debit"]
        assert sorted(charged[-3:]) == sorted(o["reference"] for o in orders)


def test_the_same_debit_sent_to_each_account_replica_charges_once(tmp_path, database):
    url = database("account")
    with ExitStack() as stack:
        a, b = replicas(stack, tmp_path, "account", url)
        debit = {"amount_cents": 1234, "reference": "order-42-cafe"}
        first = requests.post(f"{a.url}/accounts/1/debits", json=debit, timeout=10)
        again = requests.post(f"{b.url}/accounts/1/debits", json=debit, timeout=10)
        assert (first.status_code, again.status_code) == (201, 200), again.text
        assert again.json()["replayed"] is True and again.json()["entry"] == first.json()["entry"]
        assert account(a.url)["balance_cents"] == account(b.url)["balance_cents"] == OPENING - 1234


def test_balances_agree_across_replicas_under_contention(tmp_path, database):
    """40 debits at once, alternating between two replicas: none lost, none doubled."""
    url = database("account")
    with ExitStack() as stack:
        a, b = replicas(stack, tmp_path, "account", url)
        run = uuid.uuid4().hex[:6]

        def debit(n):
            target = (a, b)[n % 2]
            return requests.post(f"{target.url}/accounts/1/debits",
                                 json={"amount_cents": 100 + n, "reference": f"load-{run}-{n}"}, timeout=30)

        with ThreadPoolExecutor(20) as pool:
            statuses = [r.status_code for r in pool.map(debit, range(40))]
        assert statuses == [201] * 40
        expected = OPENING - sum(100 + n for n in range(40))
        assert account(a.url)["balance_cents"] == account(b.url)["balance_cents"] == expected
        assert len([e for e in ledger(url) if e[2].startswith(f"load-{run}-")]) == 40


def test_twenty_parallel_retries_with_one_key_across_two_order_replicas_charge_once(tmp_path, database):
    account_db, order_db = database("account"), database("order")
    with ExitStack() as stack:
        accounts = replicas(stack, tmp_path, "account", account_db)
        orders = [*replicas(stack, tmp_path, "order", order_db, ACCOUNT_URL=accounts[0].url, **NO_SETTLER)[:1],
                  *replicas(stack, tmp_path, "order", order_db, count=1, ACCOUNT_URL=accounts[1].url, **NO_SETTLER)]
        key = f"retry-{uuid.uuid4().hex[:8]}"
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda n: order(orders[n % 2].url, key, "sandwich"), range(20)))
        assert {r.status_code for r in answers} == {201}, {r.status_code: r.text for r in answers}
        assert len({r.json()["order"]["id"] for r in answers}) == 1
        debits = [e for e in ledger(account_db) if e[2] == answers[0].json()["order"]["reference"]]
        assert len(debits) == 1
        assert account(accounts[0].url)["balance_cents"] == account(accounts[1].url)["balance_cents"] == OPENING - 650


def test_data_outlives_every_replica(tmp_path, database):
    """Scaled to zero and back (new pods, new emptyDirs): the database still has the order."""
    account_db, order_db = database("account"), database("order")
    with ExitStack() as stack:
        (acc,) = replicas(stack, tmp_path, "account", account_db, count=1)
        with ExitStack() as first_pods:
            (before,) = replicas(first_pods, tmp_path, "order", order_db, count=1, ACCOUNT_URL=acc.url, **NO_SETTLER)
            placed = order(before.url, "kept").json()["order"]
        (tmp_path / "later").mkdir()
        (after,) = replicas(stack, tmp_path / "later", "order", order_db, count=1, ACCOUNT_URL=acc.url, **NO_SETTLER)
        assert requests.get(f"{after.url}/orders/{placed['id']}", timeout=10).json()["status"] == "paid"
