"""The random-edit generator of the convergence tests: replayable, and only where a learner edits."""

from random_edits import random_edits

SERVICE = {"kind": "Service", "metadata": {"name": "order", "labels": {"app": "order"}, "uid": "u-1"},
           "spec": {"clusterIP": "10.96.0.7", "ports": [{"name": "http", "port": 8080}], "selector": {"app": "order"}},
           "status": {"loadBalancer": {}}}


def test_the_same_seed_replays_the_same_edits():
    assert [str(edit) for edit in random_edits(5, [SERVICE], 20)] == [str(edit) for edit in random_edits(5, [SERVICE], 20)]
    assert [str(edit) for edit in random_edits(5, [SERVICE], 20)] != [str(edit) for edit in random_edits(6, [SERVICE], 20)]


def test_edits_touch_spec_and_labels_only_and_never_server_fields():
    paths = {op["path"] for edit in random_edits(1, [SERVICE], 200) for op in edit.ops}
    assert all(path.startswith(("/spec", "/metadata/labels")) for path in paths), paths
    assert not [path for path in paths if "clusterIP" in path or path.startswith("/status")]
    assert any(path.startswith("/spec/ports") for path in paths) and any("/selector" in path for path in paths)
