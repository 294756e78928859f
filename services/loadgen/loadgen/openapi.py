"""The loadgen's OpenAPI document."""

from servicekit.openapi import document, errors, json_content, ok

RUN = {"type": "object", "required": ["sent", "errors", "statuses", "rps", "p50_ms", "p99_ms"], "properties": {
    "sent": {"type": "integer"}, "errors": {"type": "integer"}, "statuses": {"type": "object"},
    "elapsed_s": {"type": "number"}, "rps": {"type": "number"}, "p50_ms": {"type": "number"},
    "p99_ms": {"type": "number"}}}

DOCUMENT = document(
    "loadgen", "Traffic generator: a paced background run, and bursts on demand.",
    {
        "/stats": {"get": {"summary": "Counts and latencies so far", "responses": {"200": ok("stats", {
            "type": "object", "required": ["target", "rate", "paced", "burst"],
            "properties": {"target": {"type": "string"}, "rate": {"type": "number"}, "paced": RUN,
                           "burst": {**RUN, "nullable": True}}})}}},
        "/calls": {"get": {
            "summary": "Call the target now, one call after another, and say which pod answered each",
            "parameters": [{"name": "count", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 20, "default": 8}}],
            "responses": {"200": ok("calls", {
                "type": "object", "required": ["url", "answers", "answered_by"],
                "properties": {"url": {"type": "string"},
                               "answers": {"type": "array", "items": {"type": "object", "properties": {
                                   "status": {"type": "integer", "nullable": True},
                                   "pod": {"type": "string", "nullable": True}}}},
                               "answered_by": {"type": "object", "description": "every pod that answered a call "
                                               "since the start, and how many times"}}}),
                **errors(400)},
        }},
        "/bursts": {"post": {
            "summary": "Start a burst in the background",
            "requestBody": {"required": True, **json_content({
                "type": "object", "required": ["count"],
                "properties": {"count": {"type": "integer", "minimum": 1, "maximum": 10000},
                               "concurrency": {"type": "integer", "minimum": 1, "maximum": 50, "nullable": True,
                                               "description": "default 10"}}})},
            "responses": {"202": ok("started", {"type": "object"}), **errors(400, 409, 415)},
        }},
    },
)
