"""A cluster made of objects, for running a level's checks offline on its solution (and on
the solution with one mistake): the reads checks make (list, get, pods_of), nothing else.

    cluster = FakeCluster(solution_objects(["labs/02-orchestrate/manifests"]))
    load_check(LAB / "checks", "check_02_workloads").check_probes(cluster, "workshop", SERVICES)
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from workshop.grading import CheckFailed
from workshop.grading.kube import selector_matches


class FakeCluster:
    context = "workshop-sim-1"

    def __init__(self, objects: list[dict]):
        self.objects = objects

    def list(self, kind, namespace=None, api_version=None, selector=None):
        return [item for item in self.objects if item["kind"] == kind
                and (namespace is None or item["metadata"].get("namespace") == namespace)
                and (not selector or selector_matches(selector, item["metadata"].get("labels")))]

    def get(self, kind, name, namespace=None, api_version=None):
        return next((item for item in self.list(kind, namespace) if item["metadata"]["name"] == name), None)

    def pods_of(self, workload):
        wanted = workload["spec"]["selector"]
        return [pod for pod in self.list("Pod", workload["metadata"].get("namespace"))
                if selector_matches(wanted, pod["metadata"].get("labels"))]


def documents(path: Path) -> list[dict]:
    return [item for item in yaml.safe_load_all(path.read_text()) if item]


def running(objects: list[dict], nodes: tuple[str, ...] = ("workshop-worker", "workshop-worker2")) -> list[dict]:
    """The objects as a healthy cluster shows them: each Deployment rolled out, its pods ready on
    the nodes in turn, each Service's EndpointSlice with their addresses, each budget allowing 1."""
    found = list(objects)
    for item in objects:
        item["metadata"].setdefault("generation", 1)
        if item["kind"] == "Deployment":
            replicas = item["spec"].get("replicas", 2)
            item["spec"]["replicas"] = replicas
            item["status"] = {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                              "readyReplicas": replicas, "availableReplicas": replicas,
                              "conditions": [{"type": "Available", "status": "True"},
                                             {"type": "Progressing", "status": "True"}]}
            template = item["spec"]["template"]
            for index in range(replicas):
                found.append({"kind": "Pod", "metadata": {
                    "name": f"{item['metadata']['name']}-{index}", "namespace": item["metadata"]["namespace"],
                    "labels": template["metadata"].get("labels") or {}},
                    "spec": {**template["spec"], "nodeName": nodes[index % len(nodes)]}})
        if item["kind"] == "PodDisruptionBudget":
            item["status"] = {"disruptionsAllowed": 1}
    for service in [item for item in objects if item["kind"] == "Service"]:
        pods = [pod for pod in found if pod["kind"] == "Pod" and selector_matches(
            service["spec"].get("selector"), pod["metadata"]["labels"])]
        found.append({"kind": "EndpointSlice", "metadata": {
            "name": f"{service['metadata']['name']}-1", "namespace": service["metadata"]["namespace"],
            "labels": {"kubernetes.io/service-name": service["metadata"]["name"]}},
            "ports": [{"name": "http", "port": 8080}],
            "endpoints": [{"conditions": {"ready": True}, "targetRef": {"name": pod["metadata"]["name"]}}
                          for pod in pods]})
    return found


def load_check(checks: Path, module: str):
    """A check module, with its folder on sys.path for the helpers it imports (netpolicy, level2...)."""
    if str(checks) not in sys.path:
        sys.path.insert(0, str(checks))
    spec = importlib.util.spec_from_file_location(f"{checks.parent.name}_{module}".replace("-", "_"),
                                                  checks / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def outcome(function, **arguments) -> tuple[bool, str, list[str]]:
    """(passed, hint, mismatches) of one check function, as `workshop check` reports them."""
    try:
        function(**arguments)
    except CheckFailed as error:
        hints = getattr(error, "hints", None) or [function.workshop_check.hint]
        return False, " ".join(hints), [str(item) for item in error.mismatches]
    return True, "", []


@dataclass(frozen=True)
class Mutation:
    """One learner mistake: what it changes, the check that must fail, words its hint must hold."""

    name: str
    klass: str  # the class of false pass it belongs to (issue 21's numbering)
    change: Callable[[list[dict]], None]
    fails: str
    hint: str
    ci: bool = False  # in the representative set CI runs (MUTATIONS=all runs every one)


def find(objects: list[dict], kind: str, name: str) -> dict:
    return next(item for item in objects if item["kind"] == kind and item["metadata"]["name"] == name)


def set_path(kind: str, name: str, path: str, value) -> Callable[[list[dict]], None]:
    """A mistake that sets one field ("spec.http.0.timeout") of one object to ``value``."""
    def change(objects):
        target = find(objects, kind, name)
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target.setdefault(key, {})
        target[keys[-1]] = value
    return change
