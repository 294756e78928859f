"""account: balances and ledgers. v1 and v2 come from this one codebase (SERVICE_VERSION);
v2 also awards loyalty points, so a canary is visible in every answer."""

from servicekit.app import build_app
from servicekit.config import load

from account import data, openapi, routes


def create_app(config=None):
    cfg = load("account", config)
    app = build_app("account", cfg, openapi=openapi.document_for(cfg.version), schema=data.SCHEMA,
                    postgres_schema=data.POSTGRES_SCHEMA, seed=data.seed)
    app.register_blueprint(routes.bp)
    return app
