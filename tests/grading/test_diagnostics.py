"""Diagnostics under a failed check: containers (and native sidecars), conditions, events, logs."""

from apistub import deployment

from workshop.grading import diagnostics
from workshop.grading.kube import Cluster

SIDECAR_POD = {"kind": "Pod", "metadata": {"name": "account-1", "namespace": "workshop", "labels": {"app": "account"}},
               "spec": {"containers": [{"name": "account"}],
                        "initContainers": [{"name": "istio-init"}, {"name": "istio-proxy", "restartPolicy": "Always"}]},
               "status": {"phase": "Running", "containerStatuses": [
                   {"name": "account", "ready": False, "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}}]}}


def test_container_layout_tells_a_native_sidecar_from_a_plain_init_container():
    assert diagnostics.container_layout(SIDECAR_POD) == (
        "containers: account; init containers: istio-init, istio-proxy (native sidecar)")
    assert diagnostics.has_sidecar(SIDECAR_POD)
    classic = {"spec": {"containers": [{"name": "account"}, {"name": "istio-proxy"}]}}
    assert diagnostics.has_sidecar(classic)
    assert not diagnostics.has_sidecar({"spec": {"containers": [{"name": "account"}],
                                                 "initContainers": [{"name": "istio-proxy"}]}})


def test_describe_shows_what_is_wrong_pods_warnings_and_log_tail(stub, tmp_path):
    stub.objects["/api/v1/namespaces/workshop/pods"] = [SIDECAR_POD]
    stub.objects["/api/v1/namespaces/workshop/events"] = [
        {"involvedObject": {"kind": "Pod", "name": "account-1"}, "type": "Warning", "reason": "BackOff",
         "message": "Back-off restarting failed container", "lastTimestamp": "2026-01-01T00:00:02Z"},
        {"involvedObject": {"kind": "Deployment", "name": "account"}, "type": "Normal", "reason": "ScalingReplicaSet",
         "message": "Scaled up replica set account-7d to 1", "lastTimestamp": "2026-01-01T00:00:01Z"}]
    stub.raw["/api/v1/namespaces/workshop/pods/account-1/log"] = (200, b"starting\nConfigError: LOG_LEVEL must be ...\n")
    cluster = Cluster.connect(kubeconfig=str(stub.kubeconfig(tmp_path)))
    obj = {"kind": "Deployment", **deployment("account", replicas=1, available=0)}
    lines = diagnostics.describe(cluster, obj)
    assert lines == [
        "deployment/account: condition Available=False (MinimumReplicasAvailable): stub",
        "deployment/account: pod account-1 Running, containers: account; init containers: istio-init, "
        "istio-proxy (native sidecar)",
        "deployment/account: pod account-1 event: Warning BackOff: Back-off restarting failed container",
        "deployment/account: pod account-1 container account: waiting (CrashLoopBackOff) back-off 40s",
        "deployment/account: pod account-1 log | starting",
        "deployment/account: pod account-1 log | ConfigError: LOG_LEVEL must be ...",
    ]  # a Normal event (ScalingReplicaSet) and healthy conditions are left out: they say nothing is wrong


def test_a_workload_selecting_no_pod_says_so(stub, tmp_path):
    stub.objects["/api/v1/namespaces/workshop/pods"] = []
    stub.objects["/api/v1/namespaces/workshop/events"] = []
    cluster = Cluster.connect(kubeconfig=str(stub.kubeconfig(tmp_path)))
    service = {"kind": "Service", "metadata": {"name": "order", "namespace": "workshop"},
               "spec": {"selector": {"app": "orders"}}}
    assert diagnostics.describe(cluster, service) == ["service/order: selects no pod (selector app=orders)"]


def test_diagnostics_never_raise(stub, tmp_path):
    stub.script["/api/v1/namespaces/workshop/events"] = [403]
    cluster = Cluster.connect(kubeconfig=str(stub.kubeconfig(tmp_path)))
    [line] = diagnostics.describe(cluster, {"kind": "Deployment", **deployment("account")})
    assert line.startswith("deployment/account: (no diagnostics: Your identity may not read")


def test_a_knative_service_is_not_diagnosed_as_a_core_service(stub, tmp_path):
    """A Knative Service has no selector: "selects no pod" would send the learner the wrong way."""
    stub.objects["/api/v1/namespaces/workshop/pods"] = []
    stub.objects["/api/v1/namespaces/workshop/events"] = []
    cluster = Cluster.connect(kubeconfig=str(stub.kubeconfig(tmp_path)))
    knative = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
               "metadata": {"name": "invoice", "namespace": "workshop"},
               "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "RevisionFailed"}]}}
    assert diagnostics.describe(cluster, knative) == ["service/invoice: condition Ready=False (RevisionFailed)"]
