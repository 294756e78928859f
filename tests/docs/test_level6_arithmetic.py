"""Level 6's autoscaling arithmetic, recomputed from the manifest the learner applies.

Knative's autoscaler (KPA) plans `target × target-utilization-percentage / 100` requests in
flight per pod (70 % unless the revision says otherwise) and asks for in-flight ÷ that, rounded
up, capped by `max-scale`. The page's figures (step 5) must be what that formula gives for the
burst it sends; the page once said 10 pods and "4 to 1", ignoring both the 70 % and the cap.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB = REPO_ROOT / "labs" / "06-knative"
DEFAULT_UTILIZATION_PERCENT = 70  # config-autoscaler's container-concurrency-target-percentage


def desired_pods(in_flight: float, annotations: dict) -> int:
    target = float(annotations["autoscaling.knative.dev/target"])
    utilization = float(annotations.get("autoscaling.knative.dev/target-utilization-percentage",
                                        DEFAULT_UTILIZATION_PERCENT)) / 100
    wanted = math.ceil(in_flight / (target * utilization))
    return min(wanted, int(annotations["autoscaling.knative.dev/max-scale"]))


def test_the_pages_pod_counts_are_what_knative_computes_for_the_burst():
    service = yaml.safe_load((LAB / "manifests" / "service-invoice-80-20.yaml").read_text())
    annotations = service["spec"]["template"]["metadata"]["annotations"]
    split = {route["revisionName"]: route["percent"] for route in service["spec"]["traffic"]}
    page = (LAB / "README.md").read_text()
    burst = re.search(r'"concurrency": (\d+)', page)
    assert burst, "step 5 sends a burst with a concurrency"
    concurrency = int(burst.group(1))

    per_pod = float(annotations["autoscaling.knative.dev/target"]) * DEFAULT_UTILIZATION_PERCENT / 100
    assert f"{per_pod:g} requests in flight per pod" in page
    for revision, version in (("invoice-v1", "v1"), ("invoice-v2", "v2")):
        in_flight = concurrency * split[revision] / 100
        uncapped = math.ceil(in_flight / per_pod)
        said = f"{version} asks for {in_flight:g} ÷ {per_pod:g} → {uncapped} pods"
        assert said in page, f"step 5 should say: {said}"
        capped = desired_pods(in_flight, annotations)
        if capped < uncapped:
            assert f"`max-scale` caps it at {capped}" in page
    assert "about 4 to 1 between v1 and v2" not in page
