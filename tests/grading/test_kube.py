"""The read-only cluster access: paths, selectors, error sorting, and that it only GETs."""

import pytest

from workshop.grading.kube import CannotCheck, Cluster, Transient, http_error, kind_of, selector_matches


@pytest.mark.parametrize("kind, api_version, namespace, path", [
    ("Deployment", None, "workshop", "/apis/apps/v1/namespaces/workshop/deployments"),
    ("Pod", None, "workshop", "/api/v1/namespaces/workshop/pods"),
    ("Endpoints", None, "workshop", "/api/v1/namespaces/workshop/endpoints"),
    ("NetworkPolicy", None, "workshop", "/apis/networking.k8s.io/v1/namespaces/workshop/networkpolicies"),
    ("Ingress", None, "workshop", "/apis/networking.k8s.io/v1/namespaces/workshop/ingresses"),
    ("Node", None, "workshop", "/api/v1/nodes"),
    ("VirtualService", None, "workshop", "/apis/networking.istio.io/v1/namespaces/workshop/virtualservices"),
    ("Service", "serving.knative.dev/v1", "workshop", "/apis/serving.knative.dev/v1/namespaces/workshop/services"),
])
def test_collection_paths(kind, api_version, namespace, path):
    assert kind_of(kind, api_version).collection_path(namespace) == path


def test_selectors():
    labels = {"app": "account", "version": "v1"}
    assert selector_matches({"app": "account"}, labels)
    assert not selector_matches({"app": "orders"}, labels)
    assert selector_matches({"matchLabels": {"app": "account"},
                             "matchExpressions": [{"key": "version", "operator": "In", "values": ["v1", "v2"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "version", "operator": "NotIn", "values": ["v1"]}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({}, labels), "an empty selector selects nothing here"


@pytest.mark.parametrize("status, kind", [(429, Transient), (500, Transient), (503, Transient), (401, CannotCheck),
                                          (403, CannotCheck), (404, CannotCheck), (400, CannotCheck)])
def test_errors_are_sorted_into_retry_or_stop(status, kind):
    assert isinstance(http_error(status, "/apis/argoproj.io/v1alpha1/applications", b"{}"), kind)


def test_the_cluster_has_no_method_that_writes():
    # Read-only by construction: there is one request method, and it sends GET.
    public = {name for name in dir(Cluster) if not name.startswith("_")}
    assert not {name for name in public if any(word in name for word in ("create", "patch", "delete", "put", "post",
                                                                         "apply", "update", "replace"))}
    import inspect

    source = inspect.getsource(Cluster)
    assert source.count('request("GET"') == 1 and '"POST"' not in source and '"PUT"' not in source


def test_a_cached_list_is_read_once_and_refreshed_on_demand(stub, tmp_path):
    from apistub import deployment

    path = "/apis/apps/v1/namespaces/workshop/deployments"
    stub.objects[path] = [deployment("account"), deployment("order")]
    cluster = Cluster.connect(kubeconfig=str(stub.kubeconfig(tmp_path)))
    assert cluster.get("Deployment", "account", "workshop")["kind"] == "Deployment"
    assert cluster.get("Deployment", "order", "workshop") is not None
    assert cluster.get("Deployment", "nope", "workshop") is None
    assert stub.requests[path] == 1
    cluster.begin_attempt()
    cluster.list("Deployment", "workshop")
    cluster.refresh()
    cluster.list("Deployment", "workshop")
    assert stub.requests[path] == 2 and cluster.requests == 2
