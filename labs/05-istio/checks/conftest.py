"""Level 5's checks share these: the workloads of the app, and a first look for Istio's API."""

import pytest

# Deployments of the app in namespace workshop (account-v2 comes with step 3).
APPS = ("gateway", "customer", "order", "account", "loadgen")


@pytest.fixture(scope="session", autouse=True)
def istio_api(cluster, namespace):
    """Without Istio's CRDs no check can say anything useful: this read raises CannotCheck
    ("Istio is not installed in this cluster: run make lab-5") once, before any check waits."""
    cluster.list("PeerAuthentication", namespace)


@pytest.fixture(scope="session")
def apps() -> tuple[str, ...]:
    return APPS
