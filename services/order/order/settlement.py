"""Charging an order, and settling the orders left pending, against account's ledger.

An order is charged with its reference (``order-<id>-<random>``, data.new_reference); account charges one reference once.
So sending the same debit again is always safe, and its answer tells the truth: 201 or
200 (replayed) means the money was taken, 404/409 that it never will be. When account was
too slow (the debit may have landed after we gave up), the order stays pending; the settler
sends the debit again after ORDER_SETTLE_AFTER_SECONDS, so a pending order ends paid or
rejected even if nobody retries, and a later retry with its key replays that final answer.
"""

import logging
import threading
from datetime import datetime, timedelta, timezone

from order import data

log = logging.getLogger("servicekit")


def charge(k, invoicing, order: dict, timeout: float | None = None):
    """Send the order's debit; returns (reply, (status, answer)) or (reply, None) when unsettled."""
    reply = k.downstream["account"].call(
        "POST", f"/accounts/{order['customer_id']}/debits",
        json={"amount_cents": order["amount_cents"], "reference": order["reference"]}, timeout=timeout,
    )
    if reply.ok:
        answer = data.finish(k.db, order["id"], "paid", 201, {"balance_cents": reply.body.get("balance_cents")})
        if invoicing is not None:  # committed: now the invoice, in the background
            invoicing.order_paid(answer["order"])
        return reply, (201, answer)
    if reply.status in (404, 409):
        # The account said no (no such account, insufficient funds): a final answer, remembered.
        error = reply.body.get("error") if isinstance(reply.body, dict) else None
        answer = data.finish(k.db, order["id"], "rejected", reply.status,
                             {"error": error or "payment rejected", "detail": reply.error})
        return reply, (reply.status, answer)
    return reply, None


# Nobody waits on the settler: it gives a slow account more time than a customer's request does.
SETTLE_TIMEOUT_SECONDS = 10.0


def settle_pending(k, invoicing, older_than: float, timeout: float = SETTLE_TIMEOUT_SECONDS) -> list[tuple[int, str]]:
    """Charge (again) every order pending for more than ``older_than`` seconds; [(id, new status)]."""
    cutoff = (datetime.now(timezone.utc) - timedelta(seconds=older_than)).strftime("%Y-%m-%dT%H:%M:%SZ")
    settled = []
    for order in data.pending_since(k.db, cutoff):
        _, outcome = charge(k, invoicing, order, timeout)
        if outcome is not None:
            settled.append((order["id"], outcome[1]["order"]["status"]))
    if settled:
        log.info("settled pending orders: %s", settled)
    return settled


class Settler:
    """A background loop: every ``interval`` seconds, settle what has been pending for ``after``."""

    def __init__(self, k, invoicing, interval: float, after: float):
        self.k, self.invoicing, self.interval, self.after = k, invoicing, interval, after
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="settler")

    def start(self) -> "Settler":
        self.thread.start()
        return self

    def _run(self):
        while not self.stop.wait(self.interval):
            try:
                settle_pending(self.k, self.invoicing, self.after)
            except Exception:  # a failed round is logged; the next one tries again
                log.exception("settling pending orders failed")

    def close(self):
        self.stop.set()
