"""Every error leaves a service as ``{"error": ..., "detail": ...}`` JSON: never HTML, never a traceback."""

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import ClientDisconnected, HTTPException

log = logging.getLogger("servicekit")


class ApiError(Exception):
    """Raise from a handler to answer ``status`` with a one-sentence ``error``."""

    def __init__(self, status: int, error: str, detail: str | None = None, **extra):
        super().__init__(error)
        self.status, self.error, self.detail, self.extra = status, error, detail, extra


def error_response(status: int, error: str, detail: str | None = None, **extra):
    body = {"error": error, "detail": detail, **extra}
    return jsonify(body), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.error, exc.detail, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # 404 for unknown routes, 405, 413 for oversized bodies, 400 for malformed JSON...
        response, status = error_response(exc.code or 500, exc.name.lower(), exc.description)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response, status

    @app.errorhandler(TimeoutError)
    @app.errorhandler(ClientDisconnected)
    def _read_timeout(exc: Exception):
        # The client stopped sending its body (servicekit.worker bounds each read; werkzeug reports
        # the timed-out read as a disconnect). If it really left, nobody reads this answer.
        response, status = error_response(408, "request timeout", "the request body did not arrive in time")
        response.headers["Connection"] = "close"
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # A bug: log it with its traceback, answer without one.
        log.exception("unhandled error")
        return error_response(500, "internal error", "the service failed unexpectedly; see its logs")
