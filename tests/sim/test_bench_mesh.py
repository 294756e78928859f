"""`make bench-mesh`'s chain without sidecars is level 2's whole app: a service whose database is
missing never becomes ready, and the benchmark then waits out its rollout (it did, once the
services got their databases)."""

import yaml

from workshop.sim import bench_mesh


def test_the_plain_chain_holds_every_object_of_level_2_in_its_own_namespace():
    objects = [item for item in yaml.safe_load_all(bench_mesh.plain_chain()) if item]
    namespace, *rest = objects
    assert namespace == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": bench_mesh.PLAIN}}
    assert {item["metadata"]["namespace"] for item in rest} == {bench_mesh.PLAIN}
    deployments = {item["metadata"]["name"] for item in rest if item["kind"] == "Deployment"}
    databases = {item["metadata"]["name"] for item in rest if item["kind"] == "StatefulSet"}
    assert {"gateway", "customer", "order", "account"} <= deployments
    # Every DATABASE_URL names a database Service the chain creates.
    services = {item["metadata"]["name"] for item in rest if item["kind"] == "Service"}
    for item in rest:
        if item["kind"] != "Deployment":
            continue
        for container in item["spec"]["template"]["spec"]["containers"]:
            for variable in container.get("env") or []:
                if variable["name"] == "DATABASE_URL":
                    host = variable["value"].split("@")[-1].split("/")[0].split(":")[0]
                    assert host.split(".")[0] in services, (item["metadata"]["name"], host)
    assert databases, "the chain has no database"
