"""Small, explicit input checks: each failure is a 4xx with a sentence naming the field."""

from flask import request

from servicekit.errors import ApiError

# SQLite integers are 64-bit; ids beyond this range cannot exist, so they are "not found".
MAX_ID = 2**31 - 1


def json_object() -> dict:
    """The request body as a JSON object, or a 415/400 ApiError."""
    if not request.is_json:
        raise ApiError(415, "unsupported media type", "send the body as JSON with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid body", "the body must be a JSON object")
    return body


def integer(body: dict, name: str, *, minimum: int = 1, maximum: int = MAX_ID, required: bool = True):
    value = body.get(name)
    if value is None and not required:
        return None
    # bool is an int in Python, but true is not a quantity.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, "invalid field", f"{name} must be an integer")
    if not minimum <= value <= maximum:
        raise ApiError(400, "invalid field", f"{name} must be between {minimum} and {maximum}")
    return value


def string(body: dict, name: str, *, max_length: int = 64, required: bool = True):
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "invalid field", f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise ApiError(400, "invalid field", f"{name} must be at most {max_length} characters")
    return value


def query_integer(name: str, *, minimum: int = 1, maximum: int = MAX_ID, default: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        if default is None:
            raise ApiError(400, "missing parameter", f"query parameter {name} is required")
        return default
    if not raw.isascii() or not raw.isdigit():
        raise ApiError(400, "invalid parameter", f"{name} must be an integer")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise ApiError(400, "invalid parameter", f"{name} must be between {minimum} and {maximum}")
    return value


def idempotency_key() -> str | None:
    """The optional Idempotency-Key header, checked for a sane shape."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 128 or not key.isascii() or not key.isprintable():
        raise ApiError(400, "invalid header", "Idempotency-Key must be 1 to 128 printable ASCII characters")
    return key
