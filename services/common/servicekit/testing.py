"""Test helpers shared by the services' test suites (not used at run time).

    with serve("account", tmp_path) as url:   # a real account service on 127.0.0.1
        ...
"""

import importlib
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

from servicekit.app import close

SERVICES_DIR = Path(__file__).resolve().parents[2]


def importable(service: str) -> None:
    """Put services/<service> (and services/common) on sys.path, as the service's image does."""
    for path in (SERVICES_DIR / "common", SERVICES_DIR / service):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def make_app(service: str, data_dir: Path, **env):
    importable(service)
    module = importlib.import_module(service)
    return module.create_app({"DATA_DIR": str(data_dir), "POD_NAME": f"{service}-test", **env})


@contextmanager
def live(app):
    """Serve a Flask app over real HTTP on 127.0.0.1 (a random port) in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def serve(service: str, data_dir: Path, **env):
    app = make_app(service, data_dir / service, **env)
    try:
        with live(app) as url:
            yield url
    finally:
        close(app)


def fuzz_schema(document: dict, max_examples: int = 25):
    """A schemathesis schema of a service's OpenAPI document, bounded and deterministic.

    Built from the document object (which the service also serves at /openapi.json) so that
    tests are generated at collection time; each test then calls a live server over HTTP.
    """
    import schemathesis
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_dict(document)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=max_examples, deterministic=True
    )
    # Schema-valid requests may still be refused for state: an Idempotency-Key already used with
    # another body is 422 by design (IETF idempotency-key draft), so it is an expected answer.
    acceptance = schema.config.checks.positive_data_acceptance
    acceptance.expected_statuses = [*acceptance.expected_statuses, "422"]
    return schema


def fuzz_settings():
    """Hypothesis settings for fuzz tests: one live server serves every generated case, on purpose."""
    from hypothesis import HealthCheck, settings

    return settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


# The next hop of each service, whose URL setting points at a real instance in tests.
NEXT_HOP = {"gateway": ("customer", "CUSTOMER_URL"), "customer": ("order", "ORDER_URL"),
            "order": ("account", "ACCOUNT_URL")}


def service_fixtures(service: str):
    """The `app`, `client` and `url` fixtures of a service's tests, with real next hops behind it.

    In a conftest.py:  app, client, url, service_env = service_fixtures("order")
    Override `service_env` (a dict of settings) to configure the app under test.
    """
    import pytest

    @pytest.fixture(name="service_env")
    def env_fixture():
        return {}

    @pytest.fixture(name="app")
    def app_fixture(tmp_path, service_env):
        with _next_hops(service, tmp_path) as hops:
            app = make_app(service, tmp_path / service, **hops, **service_env)
            yield app
            close(app)

    @pytest.fixture(name="client")
    def client_fixture(app):
        return app.test_client()

    @pytest.fixture(name="url")
    def url_fixture(app):
        with live(app) as url:
            yield url

    return app_fixture, client_fixture, url_fixture, env_fixture


@contextmanager
def _next_hops(service: str, tmp_path: Path):
    if service not in NEXT_HOP:
        yield {}
        return
    nxt, setting = NEXT_HOP[service]
    with _next_hops(nxt, tmp_path) as deeper:
        with serve(nxt, tmp_path, **deeper) as url:
            yield {setting: url}
