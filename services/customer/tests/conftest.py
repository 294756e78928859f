import sys
from pathlib import Path

# The service and the shared kit, importable as in the image (which copies both to /app).
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1] / "common")]

from servicekit.testing import service_fixtures  # noqa: E402

# app: a customer app on a temporary DATA_DIR, with its next hops running for real on 127.0.0.1.
app, client, url, service_env = service_fixtures("customer")
