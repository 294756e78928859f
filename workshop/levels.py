"""The levels of the workshop, in order: the one table the site, `make help` and
`workshop progress` read. Standard library only (`make help` imports it without .venv)."""

from dataclasses import dataclass
from pathlib import Path

from workshop import REPO_ROOT


@dataclass(frozen=True)
class Level:
    number: int
    slug: str  # folder under labs/
    title: str
    short: str  # the title as the level map shows it
    minutes: int
    app_gains: str  # what the level adds to the app
    cluster_gains: str  # what it adds to the cluster

    @property
    def folder(self) -> Path:
        return REPO_ROOT / "labs" / self.slug


LEVELS = (
    Level(0, "00-setup", "Setup", "Setup", 30, "nothing yet", "kind cluster, tools checked by make doctor"),
    Level(1, "01-containerize", "Containerize", "Containerize", 45, "four images, run with compose", "no cluster needed"),
    Level(2, "02-orchestrate", "Orchestrate", "Orchestrate", 60, "Deployments, Services, probes, config", "namespace, rolling update"),
    Level(3, "03-operate", "Operate", "Operate", 60, "restricted pods, autoscaling, budgets", "Pod Security, NetworkPolicy, metrics"),
    Level(4, "04-release", "Release", "Release", 60, "Kustomize overlays, Skaffold loop", "Argo CD GitOps, plain canary"),
    Level(5, "05-istio", "Service mesh with Istio", "Istio", 120, "routing, resilience, mTLS, tracing", "Istio control plane, sidecars"),
    Level(6, "06-knative", "Serverless with Knative", "Knative", 60, "a scale-to-zero service", "Knative Serving"),
    Level(7, "07-multicluster", "Multi-cluster mesh", "Multi-cluster", 60, "account in two clusters", "two clusters, east-west gateways"),
)


def level(number: int) -> Level:
    for item in LEVELS:
        if item.number == number:
            return item
    raise KeyError(f"there is no level {number}: levels go from 0 to {LEVELS[-1].number}")
