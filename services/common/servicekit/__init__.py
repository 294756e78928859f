"""servicekit: the plumbing every workshop service shares, so each service's code is its domain only.

A service builds its Flask app with :func:`servicekit.app.build_app` and gets, for free:
JSON errors, request ids, one JSON log line per request, Prometheus metrics, /healthz,
/readyz, /metrics, /openapi.json, SQLite storage and outbound HTTP clients that forward
the tracing headers Istio needs.
"""
