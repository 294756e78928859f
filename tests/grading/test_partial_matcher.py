"""The partial-object matcher: examples, then properties that must hold for any object."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workshop.grading.matcher import MISSING, PRESENT, Mismatch, Ordered, match, render, strip_server_fields

DEPLOYMENT = {
    "metadata": {"name": "account", "labels": {"app": "account", "app.kubernetes.io/part-of": "workshop"}},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [
        {"name": "account", "image": "localhost/workshop/account:dev", "ports": [{"name": "http", "containerPort": 8080}]},
        {"name": "istio-proxy", "image": "proxyv2"},
    ]}}},
}


def test_a_subset_matches():
    assert match({"spec": {"replicas": 2}}, DEPLOYMENT) == []


def test_a_different_value_is_reported_with_its_path():
    assert match({"spec": {"replicas": 3}}, DEPLOYMENT) == [Mismatch("spec.replicas", 3, 2)]
    assert str(match({"spec": {"replicas": 3}}, DEPLOYMENT)[0]) == "spec.replicas: expected 3, got 2"


def test_a_missing_field_says_got_nothing():
    [mismatch] = match({"spec": {"paused": True}}, DEPLOYMENT)
    assert str(mismatch) == "spec.paused: expected true, got nothing"


def test_list_elements_match_in_any_order():
    expected = {"spec": {"template": {"spec": {"containers": [{"name": "istio-proxy"}, {"name": "account"}]}}}}
    assert match(expected, DEPLOYMENT) == []


def test_a_named_list_element_is_diffed_against_its_namesake():
    expected = {"spec": {"template": {"spec": {"containers": [{"name": "account", "image": "localhost/workshop/account:v2"}]}}}}
    assert [str(m) for m in match(expected, DEPLOYMENT)] == [
        'spec.template.spec.containers[name=account].image: expected "localhost/workshop/account:v2", got "localhost/workshop/account:dev"']


def test_a_missing_named_element_is_reported():
    expected = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar"}]}}}}
    [mismatch] = match(expected, DEPLOYMENT)
    assert mismatch.path == "spec.template.spec.containers[name=sidecar]" and mismatch.got is MISSING


def test_ordered_lists_compare_element_by_element():
    containers = DEPLOYMENT["spec"]["template"]["spec"]["containers"]
    assert match(Ordered([{"name": "account"}, {"name": "istio-proxy"}]), containers) == []
    assert match(Ordered([{"name": "istio-proxy"}, {"name": "account"}]), containers) != []
    assert match(Ordered([{"name": "account"}]), containers) == [Mismatch("length", 1, 2)]


def test_none_means_must_not_be_set():
    assert match({"spec": {"paused": None}}, DEPLOYMENT) == []
    assert match({"spec": {"replicas": None}}, DEPLOYMENT) == [Mismatch("spec.replicas", "<not set>", 2)]


def test_present_matches_any_value_but_not_a_missing_one():
    assert match({"spec": {"replicas": PRESENT}}, DEPLOYMENT) == []
    assert str(match({"spec": {"paused": PRESENT}}, DEPLOYMENT)[0]) == "spec.paused: expected a value, got nothing"


@pytest.mark.parametrize("expected, actual", [(True, 1), (1, True), ("8080", 8080), (8080, "8080"), (0, False)])
def test_types_are_not_confused(expected, actual):
    assert match(expected, actual) != []


def test_dotted_keys_are_quoted_in_paths():
    [mismatch] = match({"metadata": {"labels": {"app.kubernetes.io/part-of": "other"}}}, DEPLOYMENT)
    assert mismatch.path == 'metadata.labels."app.kubernetes.io/part-of"'


def test_strip_removes_server_fields_only():
    obj = {"metadata": {"name": "a", "uid": "1", "resourceVersion": "9", "managedFields": [{}], "generation": 3,
                        "creationTimestamp": "t", "annotations": {
                            "kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "me"}},
           "status": {"conditions": [{"type": "Available", "lastTransitionTime": "t", "lastUpdateTime": "t"}]}}
    assert strip_server_fields(obj) == {"metadata": {"name": "a", "generation": 3, "annotations": {"keep": "me"}},
                                        "status": {"conditions": [{"type": "Available"}]}}


def test_render_is_short():
    assert render("x" * 500).endswith("…") and len(render("x" * 500)) <= 160
    assert render(MISSING) == "nothing"


# --- properties --------------------------------------------------------------------------
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz.-/", min_size=1, max_size=8)
scalars = st.one_of(st.booleans(), st.integers(-5, 5), st.text(max_size=5), st.floats(allow_nan=False, width=32))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                               st.dictionaries(keys, inner, max_size=4)), max_leaves=20)
objects = st.dictionaries(keys, json_values, min_size=1, max_size=5)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_everything_matches_itself(value):
    assert match(value, value) == []


@settings(max_examples=200, deadline=None)
@given(objects, st.data())
def test_any_sub_dict_matches(obj, data):
    chosen = data.draw(st.lists(st.sampled_from(sorted(obj)), unique=True))
    assert match({key: obj[key] for key in chosen}, obj) == []


@settings(max_examples=200, deadline=None)
@given(objects, st.data())
def test_changing_a_top_level_scalar_is_always_caught(obj, data):
    key = data.draw(st.sampled_from(sorted(obj)))
    changed = {"a changed value": obj[key]}  # a dict can never equal a scalar, a list or another dict's keys
    mismatches = match({key: changed}, obj)
    assert mismatches and all(m.path.startswith(key) or m.path.startswith(f'"{key}"') for m in mismatches)


@settings(max_examples=100, deadline=None)
@given(objects)
def test_strip_is_idempotent(obj):
    once = strip_server_fields({"metadata": {"uid": "1", **obj}, "spec": obj})
    assert strip_server_fields(once) == once
    assert "uid" not in once["metadata"]
