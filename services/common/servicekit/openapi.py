"""Pieces of the OpenAPI 3 documents: the shared schemas (Error, Hop) and the probe endpoints.

Each service writes its own paths and calls :func:`document`; tests fuzz the service against
the document it serves, so the document is the contract, not decoration.
"""

ID_MAX = 2**31 - 1

ERROR = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string", "nullable": True}},
}

HOP = {
    "type": "object",
    "required": ["service", "version", "pod", "status", "latency_ms"],
    "properties": {
        "service": {"type": "string"},
        "version": {"type": "string", "nullable": True},
        "pod": {"type": "string", "nullable": True},
        "status": {"type": "integer", "nullable": True, "description": "null when no HTTP answer came"},
        "latency_ms": {"type": "number"},
        "error": {"type": "string"},
    },
}

TRACE = {"type": "array", "items": {"$ref": "#/components/schemas/Hop"}}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def ok(description: str, schema: dict) -> dict:
    return {"description": description, **json_content(schema)}


def errors(*statuses: int) -> dict:
    """Error responses documented by status; ``default`` covers the rest (404 route, 405, 413...)."""
    out = {str(s): {"description": "error", **json_content(ref("Error"))} for s in statuses}
    out["default"] = {"description": "error", **json_content(ref("Error"))}
    return out


def id_param(name: str, where: str = "path") -> dict:
    return {"name": name, "in": where, "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Send the same key again and the first answer is replayed: one order, one debit.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"},
}

_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}
_STATUS = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}

PROBES = {
    "/healthz": {"get": {"summary": "Liveness: the process answers", "responses": {"200": ok("alive", _STATUS)}}},
    "/readyz": {"get": {"summary": "Readiness: storage open and not draining", "responses": {
        "200": ok("ready", _STATUS), "503": ok("not ready (draining, storage)", _STATUS)}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "metrics", **_TEXT}}}},
    "/openapi.json": {"get": {"summary": "This document", "responses": {
        "200": ok("OpenAPI document", {"type": "object"})}}},
}


def document(title: str, description: str, paths: dict, schemas: dict | None = None) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "paths": {**paths, **PROBES},
        "components": {"schemas": {"Error": ERROR, "Hop": HOP, **(schemas or {})}},
    }
