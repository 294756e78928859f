"""invoice: turns a paid order into an invoice. Stateless on purpose: any instance gives the
same answer and none keeps data, so Knative can scale it to zero and out again (level 6).
v1 and v2 come from this one codebase (SERVICE_VERSION); v2 adds payment terms."""

from servicekit.app import build_app
from servicekit.config import load

from invoice import openapi, render, routes


def create_app(config=None):
    cfg = load("invoice", config)
    settings = render.settings(cfg.environ)  # a bad INVOICE_* value stops the start, with its name
    # No schema: the service keeps nothing, so it needs no DATA_DIR and /readyz checks no storage.
    app = build_app("invoice", cfg, openapi=openapi.document_for(cfg.version))
    app.config["INVOICE"] = settings
    app.register_blueprint(routes.bp)
    return app
