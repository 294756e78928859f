"""gateway: the front end. An HTML page and a JSON API that call customer, which calls order,
which calls account; every answer carries the route trace of the hops behind it."""

from servicekit.app import build_app
from servicekit.config import load

from gateway import openapi, routes


def create_app(config=None):
    cfg = load("gateway", config)
    app = build_app("gateway", cfg, openapi=openapi.DOCUMENT, downstream=("customer",), edge=True)
    app.register_blueprint(routes.bp)
    app.add_template_filter(routes.money)

    @app.after_request
    def _no_framing(response):
        # The page holds an order form: no other site may frame it (clickjacking).
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return app
