"""What the sim cluster's control plane really does: schedule, admit, validate.

Runs against the sim cluster, or any cluster named by WORKSHOP_KUBECONFIG (the tests only
assume a Kubernetes API with the Istio and Knative Serving CRDs installed).
"""

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from workshop.waits import wait_until

pytestmark = pytest.mark.cluster

RESTRICTED_SECURITY = client.V1SecurityContext(
    allow_privilege_escalation=False,
    run_as_non_root=True,
    run_as_user=10001,
    capabilities=client.V1Capabilities(drop=["ALL"]),
    seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
)


def container(name: str, **extra) -> client.V1Container:
    return client.V1Container(name=name, image=f"localhost/workshop/{name}:dev", security_context=RESTRICTED_SECURITY,
                              **extra)


def wait_for(what: str, condition, timeout: float = 60.0):
    return wait_until(what, condition, timeout, interval=0.2)


def pod_ready(pod: client.V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def test_deployment_becomes_available_with_ready_pods_on_nodes(api_client, namespace, on_sim):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    labels = {"app": "customer"}
    apps.create_namespaced_deployment(namespace, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="customer", labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[container("customer")]),
            ),
        ),
    ))

    def available():
        status = apps.read_namespaced_deployment_status("customer", namespace).status
        conditions = {c.type: c.status for c in status.conditions or []}
        return conditions.get("Available") == "True" and status.ready_replicas == 2

    wait_for("Deployment customer is Available with 2 ready replicas", available)
    pods = core.list_namespaced_pod(namespace, label_selector="app=customer").items
    assert len(pods) == 2
    for pod in pods:
        assert pod.status.phase == "Running", f"{pod.metadata.name}: phase {pod.status.phase}"
        assert pod_ready(pod), f"{pod.metadata.name}: not Ready"
        assert pod.spec.node_name, f"{pod.metadata.name}: not scheduled"
        if on_sim:
            assert pod.spec.node_name.startswith("workshop-worker")


def test_native_sidecar_pod_becomes_ready_with_init_container_status(api_client, namespace):
    """The shape Istio injects: an init container with restartPolicy Always runs beside the app."""
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name="with-sidecar"),
        spec=client.V1PodSpec(
            init_containers=[container("istio-proxy", restart_policy="Always")],
            containers=[container("order")],
        ),
    ))
    pod = wait_for("Pod with-sidecar is Ready",
                   lambda: (p := core.read_namespaced_pod("with-sidecar", namespace)) and pod_ready(p) and p)
    assert pod.status.phase == "Running"
    [sidecar] = pod.status.init_container_statuses
    assert sidecar.name == "istio-proxy"
    assert sidecar.started is True and sidecar.ready is True
    assert sidecar.state.running is not None, f"sidecar state: {sidecar.state}"


@pytest.fixture
def restricted_namespace(api_client, namespace):
    core = client.CoreV1Api(api_client)
    core.patch_namespace(namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    return namespace


def test_pod_security_rejects_privileged_pod_in_restricted_namespace(api_client, restricted_namespace):
    core = client.CoreV1Api(api_client)
    # The same namespace accepts a Pod that meets `restricted`: the rejection below is about privilege.
    core.create_namespaced_pod(restricted_namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name="fine"), spec=client.V1PodSpec(containers=[container("account")])))

    privileged = client.V1Pod(
        metadata=client.V1ObjectMeta(name="privileged"),
        spec=client.V1PodSpec(containers=[client.V1Container(
            name="root", image="localhost/workshop/account:dev",
            security_context=client.V1SecurityContext(privileged=True))]),
    )
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_pod(restricted_namespace, privileged)
    assert raised.value.status == 403
    message = json.loads(raised.value.body)["message"]
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "privileged (container \"root\" must not set securityContext.privileged=true)" in message


VIRTUAL_SERVICE = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "VirtualService",
    "metadata": {"name": "account"},
    "spec": {
        "hosts": ["account"],
        "http": [{"route": [
            {"destination": {"host": "account", "subset": "v1"}, "weight": 90},
            {"destination": {"host": "account", "subset": "v2"}, "weight": 10},
        ]}],
    },
}

KNATIVE_SERVICE = {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Service",
    "metadata": {"name": "gateway"},
    "spec": {"template": {"spec": {"containers": [
        {"image": "localhost/workshop/gateway:dev", "ports": [{"containerPort": 8080}]},
    ]}}},
}


def invalid(document: dict, path: list, value) -> dict:
    """A deep copy of ``document`` with the field at ``path`` set to ``value``."""
    import copy

    broken = copy.deepcopy(document)
    broken["metadata"]["name"] += "-invalid"
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return broken


@pytest.mark.parametrize(
    ("group", "version", "plural", "document", "bad_path", "bad_value", "complaint"),
    [
        pytest.param("networking.istio.io", "v1", "virtualservices", VIRTUAL_SERVICE,
                     ["spec", "http", 0, "route", 0, "weight"], "ninety", "weight", id="istio-virtualservice"),
        pytest.param("serving.knative.dev", "v1", "services", KNATIVE_SERVICE,
                     ["spec", "template", "spec", "containers"], {"image": "not-a-list"}, "containers",
                     id="knative-service"),
    ],
)
def test_crd_schema_accepts_valid_and_rejects_invalid(api_client, namespace, group, version, plural, document,
                                                      bad_path, bad_value, complaint):
    custom = client.CustomObjectsApi(api_client)
    created = custom.create_namespaced_custom_object(group, version, namespace, plural, document)
    assert created["metadata"]["uid"]

    with pytest.raises(ApiException) as raised:
        custom.create_namespaced_custom_object(group, version, namespace, plural,
                                               invalid(document, bad_path, bad_value))
    assert raised.value.status == 422, raised.value.body
    assert complaint in raised.value.body


def test_a_second_cluster_is_separate(api_client, api_client_2, namespace, kubeconfig, kubeconfig_2, on_sim):
    """Multi-cluster tests get two API servers that share nothing."""
    assert api_client.configuration.host != api_client_2.configuration.host
    other = client.CoreV1Api(api_client_2)
    assert other.list_namespace(field_selector=f"metadata.name={namespace}").items == []
    if on_sim:
        import yaml

        contexts = [yaml.safe_load(path.read_text())["current-context"] for path in (kubeconfig, kubeconfig_2)]
        assert contexts == ["workshop-sim", "workshop-sim-2"]


def test_every_node_renews_a_lease_so_it_stays_ready(api_client, on_sim):
    """Without a lease per node, the node lifecycle controller marks nodes NotReady within a
    minute and their pods lose Ready: the lab checks would then fail at random."""
    if not on_sim:
        pytest.skip("a real cluster's kubelets renew their own leases")
    core, coordination = client.CoreV1Api(api_client), client.CoordinationV1Api(api_client)
    nodes = {node.metadata.name for node in core.list_node().items}

    def leased_nodes():
        leases = coordination.list_namespaced_lease("kube-node-lease").items
        renewed = {lease.metadata.name for lease in leases if lease.spec.renew_time}
        return nodes <= renewed and renewed

    wait_for(f"every node {sorted(nodes)} has a renewed lease", leased_nodes, timeout=30)
