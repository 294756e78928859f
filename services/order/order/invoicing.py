"""After an order is paid and committed, tell the invoice service (level 6) — in the background.

Fire and forget: the customer's answer never waits for the invoice and never fails because of
it, so a cold start of the scale-to-zero invoice service costs the customer nothing. An invoice
is computed from the order alone, so sending the same order twice gives the same invoice.

Off unless INVOICE_URL is set (e.g. http://invoice.serverless.svc.cluster.local).
"""

import logging
import threading

from servicekit.outbound import Downstream, forwarded_headers

log = logging.getLogger("order.invoicing")


class Invoicing:
    def __init__(self, url: str, timeout: float, user_agent: str):
        self.link = Downstream("invoice", url, timeout, user_agent=user_agent, pool_size=4)

    def order_paid(self, order: dict) -> threading.Thread:
        """Post the paid order to $INVOICE_URL/invoices on a daemon thread; return the thread."""
        payload = {key: order[key] for key in ("customer_id", "item", "quantity", "amount_cents")}
        payload["order_id"] = order["id"]
        # The request context stays behind: read the tracing headers now, send them later.
        headers = forwarded_headers()
        thread = threading.Thread(target=self._send, args=(payload, headers), daemon=True, name="invoice")
        thread.start()
        return thread

    def _send(self, payload: dict, headers: dict):
        reply = self.link.call("POST", "/invoices", json=payload, headers=headers)
        if not reply.ok:
            log.warning("invoice for order %s not made: %s", payload["order_id"], reply.error)
        return reply

    def close(self) -> None:
        self.link.close()


def from_config(config) -> "Invoicing | None":
    url = (config.environ.get("INVOICE_URL") or "").strip()
    if not url:
        return None
    return Invoicing(url, config.outbound_timeout, user_agent=f"workshop-order/{config.version}")
