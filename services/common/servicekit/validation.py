"""Small, explicit input checks: each failure is a 4xx with a sentence naming the field."""

import unicodedata

from flask import current_app, request

from servicekit.errors import ApiError

# SQLite integers are 64-bit; ids beyond this range cannot exist, so they are "not found".
MAX_ID = 2**31 - 1


def json_object() -> dict:
    """The request body as a JSON object, or a 415/400 ApiError."""
    if not request.is_json:
        raise ApiError(415, "unsupported media type", "send the body as JSON with Content-Type: application/json")
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    # A chunked body has no Content-Length to refuse up front: werkzeug stops reading at the
    # limit and hands over what it read, so a full-size chunked body is too large (413), not bad JSON.
    if limit and request.content_length is None and len(request.get_data(cache=True)) >= limit:
        raise ApiError(413, "request entity too large", f"the body must be under {limit} bytes")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        # json's decoder recurses once per level; silent=True does not catch this one.
        raise ApiError(400, "invalid body", "the JSON is nested too deeply") from None
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
    if not printable(value):
        raise ApiError(400, "invalid field", f"{name} must not contain control, format or surrogate characters")
    return value


# Control (NUL, ESC, CR/LF), format (U+202E right-to-left override, zero-width) and lone
# surrogate characters: stored, they break encoders and turn a page or a log line around.
UNPRINTABLE = {"Cc", "Cf", "Cs"}


def printable(value: str) -> bool:
    return not any(unicodedata.category(ch) in UNPRINTABLE for ch in value)


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


def idempotency_key(required: bool = True) -> str | None:
    """The Idempotency-Key header, checked for a sane shape. Required on writes that charge:
    without a key, a retry (by a user, a proxy or Istio's retryOn) cannot be told from a new order."""
    keys = request.headers.getlist("Idempotency-Key")
    if not keys:
        if required:
            raise ApiError(400, "missing header", "send an Idempotency-Key header (e.g. a UUID) with each new order; "
                           "send the same key again to retry it")
        return None
    # Sent twice, a server may join the values into "k,k": a different key, so a second charge.
    if len(keys) > 1 or "," in keys[0]:
        raise ApiError(400, "invalid header", "send Idempotency-Key once, with one value (no commas)")
    key = keys[0]
    if not 1 <= len(key) <= 128 or not key.isascii() or not key.isprintable() or " " in key:
        raise ApiError(400, "invalid header", "Idempotency-Key must be 1 to 128 printable ASCII characters, no spaces")
    return key
