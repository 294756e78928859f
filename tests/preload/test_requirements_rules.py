"""How `workshop requirements` counts a pod, and kind's own components read from the pinned sources."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from workshop import requirements

MiB = 1024 ** 2


def figures(spec):
    result = requirements.pod_figures(spec)
    return result.requests["cpu"], result.requests["memory"], result.limits["cpu"], result.limits["memory"]


def container(cpu=None, memory=None, cpu_limit=None, restart=None):
    resources = {}
    if cpu or memory:
        resources["requests"] = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if cpu_limit:
        resources["limits"] = {"cpu": cpu_limit}
    item = {"name": "c", "resources": resources}
    if restart:
        item["restartPolicy"] = restart
    return item


def test_app_containers_add_up():
    assert figures({"containers": [container("100m", "64Mi", "1"), container("50m")]}) == \
        (Decimal("0.15"), 64 * MiB, Decimal(1), 0)


def test_a_big_init_container_counts_instead_of_the_app():
    spec = {"initContainers": [container("2", "1Gi")], "containers": [container("100m", "64Mi")]}
    assert figures(spec)[:2] == (Decimal(2), 1024 * MiB)


def test_sidecars_run_beside_the_app_and_beside_later_init_containers():
    spec = {"initContainers": [container("100m", "128Mi", restart="Always"), container("500m", "10Mi")],
            "containers": [container("200m", "64Mi")]}
    # app + sidecar = 300m/192Mi; the later init container runs beside the sidecar: 600m/138Mi.
    assert figures(spec)[:2] == (Decimal("0.6"), 192 * MiB)


def test_pod_overhead_is_added():
    spec = {"containers": [container("100m")], "overhead": {"cpu": "250m"}}
    assert figures(spec)[0] == Decimal("0.35")


def test_kind_components_are_read_from_kubeadm_and_kind_sources():
    if not shutil.which("go"):
        pytest.skip("no Go toolchain: kubeadm's and kind's sources come from the Go module cache")
    components = {c.name: c for c in requirements.kind_components(requirements.all_versions())}
    assert list(components) == ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "coredns", "kindnet"]
    assert components["kindnet"].count == 3          # one per node of labs/00-setup/kind-cluster.yaml
    assert components["coredns"].count >= 1
    for component in components.values():
        assert component.figures.requests["cpu"] > 0, component


def test_a_changed_source_is_reported_not_guessed():
    with pytest.raises(RuntimeError, match="update workshop/requirements.py"):
        requirements._one(r"coreDNSReplicas\s*=\s*(\d+)", "nothing here", "kubeadm dns.go")
