import sys
from pathlib import Path

# The service and the shared kit, importable as in the image (which copies both to /app).
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1] / "common")]

from servicekit.testing import service_fixtures  # noqa: E402

# app: an invoice app (it has no next hop and keeps no data).
app, client, url, service_env = service_fixtures("invoice")

import pytest  # noqa: E402


@pytest.fixture(params=["v1"])
def version(request):
    return request.param


@pytest.fixture
def service_env(version):
    # No simulated render time in tests: INVOICE_RENDER_MS has a test of its own.
    return {"SERVICE_VERSION": version, "INVOICE_RENDER_MS": "0"}
