"""Paid orders reach the invoice service in the background; the customer never waits for it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from servicekit.app import close
from servicekit.config import load
from servicekit.testing import make_app, serve

from order import invoicing

ORDER = {"customer_id": 2, "item": "tea", "quantity": 1}


class InvoiceRecorder:
    """A real HTTP server on 127.0.0.1 that records POST /invoices and answers when released."""

    def __init__(self):
        self.received: list[dict] = []
        self.release = threading.Event()
        self.arrived = threading.Event()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                recorder.received.append({"path": self.path, "body": body})
                recorder.arrived.set()
                recorder.release.wait(10)
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    server = InvoiceRecorder()
    yield server
    server.stop()


@pytest.fixture
def order_app(tmp_path, recorder):
    with serve("account", tmp_path) as account_url:
        app = make_app("order", tmp_path / "order", ACCOUNT_URL=account_url, INVOICE_URL=recorder.url)
        yield app
        close(app)


def test_a_paid_order_is_sent_to_invoice_without_waiting_for_it(order_app, recorder):
    resp = order_app.test_client().post("/orders", json=ORDER, headers={"Idempotency-Key": "inv-1"})
    # The invoice service has not answered yet (it waits for `release`), yet the customer has.
    assert resp.status_code == 201 and not recorder.release.is_set()
    assert recorder.arrived.wait(5), "the invoice service never heard of the paid order"
    order = resp.get_json()["order"]
    assert recorder.received == [{"path": "/invoices", "body": {
        "customer_id": 2, "item": "tea", "quantity": 1, "amount_cents": order["amount_cents"], "order_id": order["id"]}}]


def test_a_replayed_order_is_not_invoiced_twice(order_app, recorder):
    client = order_app.test_client()
    recorder.release.set()
    client.post("/orders", json=ORDER, headers={"Idempotency-Key": "inv-2"})
    assert recorder.arrived.wait(5)
    replay = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "inv-2"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    threading.Event().wait(0.3)  # a second post would have arrived by now on loopback
    assert len(recorder.received) == 1


def test_an_unreachable_invoice_service_never_fails_the_order(tmp_path):
    with serve("account", tmp_path) as account_url:
        app = make_app("order", tmp_path / "order", ACCOUNT_URL=account_url, INVOICE_URL="http://127.0.0.1:9")
        try:
            assert app.test_client().post("/orders", json=ORDER, headers={"Idempotency-Key": "i"}).status_code == 201
        finally:
            close(app)


def test_invoicing_is_off_without_invoice_url():
    assert invoicing.from_config(load("order", {"DATA_DIR": "/tmp"})) is None


def test_the_real_invoice_service_accepts_what_order_sends(tmp_path):
    with serve("invoice", tmp_path) as invoice_url:
        sender = invoicing.Invoicing(invoice_url, 5.0, user_agent="test")
        payload = {"order_id": 7, "customer_id": 2, "item": "tea", "quantity": 1, "amount_cents": 300}
        reply = sender._send(payload, {})
        sender.close()
    assert reply.ok, reply.error


class FlakyInvoice(InvoiceRecorder):
    """Answers 503 to the first ``failures`` posts, then 201."""

    def __init__(self, failures: int):
        super().__init__()
        self.release.set()
        self.failures = failures
        recorder = self
        handler = self.server.RequestHandlerClass
        plain = handler.do_POST

        def do_post(h):
            if len(recorder.received) < recorder.failures:
                h.rfile.read(int(h.headers["Content-Length"]))
                recorder.received.append({"path": h.path, "body": None})
                h.send_response(503)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            plain(h)

        handler.do_POST = do_post


def test_an_invoice_is_retried_until_the_invoice_service_answers(tmp_path, capsys):
    """Issue 20, item 11: invoice down for a while is not an invoice lost; each failure is a JSON log line."""
    close(make_app("invoice", tmp_path / "logs-only"))  # installs the services' JSON log handler
    flaky = FlakyInvoice(failures=2)
    try:
        sender = invoicing.Invoicing(flaky.url, 2.0, user_agent="test", retry_delays=(0.05, 0.05, 0.05))
        payload = {"order_id": 7, "customer_id": 2, "item": "tea", "quantity": 1, "amount_cents": 300}
        reply = sender._send(payload, {})
        sender.close()
    finally:
        flaky.stop()
    assert reply.ok and len(flaky.received) == 3 and flaky.received[-1]["body"] == payload
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "invoice for order 7" in line]
    assert [x["level"] for x in lines] == ["warning", "warning", "info"]
