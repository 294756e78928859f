"""After an order is paid and committed, tell the invoice service (level 6) — in the background.

Fire and forget: the customer's answer never waits for the invoice and never fails because of
it, so a cold start of the scale-to-zero invoice service costs the customer nothing. An invoice
is computed from the order alone, so sending the same order twice gives the same invoice.

Off unless INVOICE_URL is set (e.g. http://invoice.serverless.svc.cluster.local).

When invoice does not answer (down, cold, 5xx) the send is retried with growing pauses
(RETRY_DELAYS: about half a minute in all), since sending an order twice is harmless; a 4xx is
final. Each failure is one JSON log line. The retries live in memory: a restart of order
during them loses that invoice (a database outbox would not; see the services' README).
"""

import logging
import threading

from servicekit.outbound import Downstream, forwarded_headers

# "servicekit": the logger with the services' JSON handler (a plain logger would print text).
log = logging.getLogger("servicekit")
RETRY_DELAYS = (0.5, 1, 2, 4, 8, 16)


class Invoicing:
    def __init__(self, url: str, timeout: float, user_agent: str, retry_delays=RETRY_DELAYS):
        self.link = Downstream("invoice", url, timeout, user_agent=user_agent, pool_size=4)
        self.retry_delays = tuple(retry_delays)
        self.stop = threading.Event()  # set by close(): pending retries give up

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
        for attempt, pause in enumerate((*self.retry_delays, None), start=1):
            reply = self.link.call("POST", "/invoices", json=payload, headers=headers)
            final = reply.ok or (reply.status is not None and reply.status < 500)
            if reply.ok:
                if attempt > 1:
                    log.info("invoice for order %s made on attempt %d", payload["order_id"], attempt)
                return reply
            if final or pause is None:
                log.error("invoice for order %s not made: %s (attempt %d, giving up)",
                          payload["order_id"], reply.error, attempt)
                return reply
            log.warning("invoice for order %s not made: %s (attempt %d, retrying in %gs)",
                        payload["order_id"], reply.error, attempt, pause)
            if self.stop.wait(pause):
                return reply
        return reply

    def close(self) -> None:
        self.stop.set()
        self.link.close()


def from_config(config) -> "Invoicing | None":
    url = (config.environ.get("INVOICE_URL") or "").strip()
    if not url:
        return None
    return Invoicing(url, config.outbound_timeout, user_agent=f"workshop-order/{config.version}")
