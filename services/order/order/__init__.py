"""order: records orders and charges them to the customer's account (the next hop)."""

from servicekit.app import build_app, kit
from servicekit.config import load, number

from order import data, invoicing, openapi, routes, settlement


def create_app(config=None):
    cfg = load("order", config)
    app = build_app("order", cfg, openapi=openapi.DOCUMENT, schema=data.SCHEMA,
                    postgres_schema=data.POSTGRES_SCHEMA, seed=data.seed,
                    downstream=("account",))
    data.upgrade(kit(app).db)
    # Level 6: paid orders are also sent to the invoice service when INVOICE_URL is set.
    app.extensions["invoicing"] = invoicing.from_config(cfg)
    if app.extensions["invoicing"] is not None:
        kit(app).on_close.append(app.extensions["invoicing"].close)
    app.register_blueprint(routes.bp)
    # Orders left pending (account too slow or down) are charged again until settled: 0 = off.
    interval = number(cfg.environ, "ORDER_SETTLE_INTERVAL_SECONDS", 5.0, float)
    after = number(cfg.environ, "ORDER_SETTLE_AFTER_SECONDS", 10.0, float)
    if interval > 0:
        settler = settlement.Settler(kit(app), app.extensions["invoicing"], interval, after).start()
        kit(app).on_close.append(settler.close)
    return app
