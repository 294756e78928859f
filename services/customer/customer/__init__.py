"""customer: customer profiles, and the customer summary (profile + orders + account) built from the next hops."""

from servicekit.app import build_app
from servicekit.config import load

from customer import data, openapi, routes


def create_app(config=None):
    cfg = load("customer", config)
    app = build_app("customer", cfg, openapi=openapi.DOCUMENT, schema=data.SCHEMA,
                    postgres_schema=data.POSTGRES_SCHEMA, seed=data.seed,
                    downstream=("order",))
    app.register_blueprint(routes.bp)
    return app
