"""order: records orders and charges them to the customer's account (the next hop)."""

from servicekit.app import build_app
from servicekit.config import load

from order import data, invoicing, openapi, routes


def create_app(config=None):
    cfg = load("order", config)
    app = build_app("order", cfg, openapi=openapi.DOCUMENT, schema=data.SCHEMA, seed=data.seed,
                    downstream=("account",))
    # Level 6: paid orders are also sent to the invoice service when INVOICE_URL is set.
    app.extensions["invoicing"] = invoicing.from_config(cfg)
    app.register_blueprint(routes.bp)
    return app
