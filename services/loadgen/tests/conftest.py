import sys
from pathlib import Path

# The service and the shared kit, importable as in the image (which copies both to /app).
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1] / "common")]

from servicekit.testing import service_fixtures  # noqa: E402

# app: a loadgen app on a temporary DATA_DIR, with its next hops running for real on 127.0.0.1.
app, client, url, service_env = service_fixtures("loadgen")

import pytest  # noqa: E402


@pytest.fixture
def service_env():
    # Idle in the background; bursts go to a port where nothing listens (counted as errors).
    return {"LOADGEN_RATE": "0", "TARGET_URL": "http://127.0.0.1:9"}
