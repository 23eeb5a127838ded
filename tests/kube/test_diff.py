"""differences(): does a live object still hold every field we applied?"""

from __future__ import annotations

import copy
from typing import Any

from apps.kube import manifests as m
from apps.kube.diff import differences, key
from apps.kube.manifests import AppSpec, ProcessSpec


def web_deployment() -> dict[str, Any]:
    web = ProcessSpec(
        name="web",
        command="gunicorn app:app",
        quantity=2,
        cpu_request_millicores=250,
        cpu_limit_millicores=1000,
        memory_request_mib=512,
        memory_limit_mib=1024,
    )
    spec = AppSpec(
        name="shop",
        uid="uid-1",
        namespace="paas-shop",
        release=3,
        image="img:1",
        config={"A": "1"},
        processes=(web,),
    )
    return m.deployment(spec, web)


def as_served(desired: dict[str, Any]) -> dict[str, Any]:
    """What the API server hands back: our fields plus defaults, metadata and status."""
    live = copy.deepcopy(desired)
    live["metadata"] |= {
        "uid": "abc",
        "resourceVersion": "42",
        "generation": 1,
        "creationTimestamp": "2025-01-01T00:00:00Z",
        "annotations": {"deployment.kubernetes.io/revision": "1"},
    }
    live["spec"]["template"]["spec"] |= {"restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}
    container = live["spec"]["template"]["spec"]["containers"][0]
    container |= {
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log",
    }
    container["ports"][0]["protocol"] = "TCP"
    live["status"] = {"replicas": 2, "readyReplicas": 2, "observedGeneration": 1}
    return live


def test_an_identical_object_has_no_differences():
    desired = web_deployment()
    assert differences(desired, copy.deepcopy(desired)) == []


def test_server_added_fields_are_ignored():
    desired = web_deployment()
    assert differences(desired, as_served(desired)) == []


def test_a_changed_replica_count_is_reported_at_its_path():
    desired = web_deployment()
    live = as_served(desired)
    live["spec"]["replicas"] = 5
    assert differences(desired, live) == [".spec.replicas"]


def test_a_missing_field_is_reported():
    desired = web_deployment()
    live = as_served(desired)
    del live["spec"]["progressDeadlineSeconds"]
    assert differences(desired, live) == [".spec.progressDeadlineSeconds"]


def test_a_changed_label_and_annotation_are_both_reported():
    desired = web_deployment()
    live = as_served(desired)
    live["metadata"]["labels"]["paas.dev/app-uid"] = "someone-else"
    live["spec"]["template"]["metadata"]["annotations"][m.CONFIG_HASH] = "0" * 16
    assert differences(desired, live) == [
        ".metadata.labels.paas.dev/app-uid",
        ".spec.template.metadata.annotations.paas.dev/config-hash",
    ]


def test_list_elements_are_compared_by_position():
    desired = web_deployment()
    live = as_served(desired)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "img:2"
    assert differences(desired, live) == [".spec.template.spec.containers[0].image"]


def test_an_extra_list_element_is_drift():
    desired = web_deployment()
    live = as_served(desired)
    live["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "x"})
    assert differences(desired, live) == [".spec.template.spec.containers"]


def test_an_extra_env_var_is_drift():
    desired = web_deployment()
    live = as_served(desired)
    live["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "X", "value": "1"})
    assert differences(desired, live) == [".spec.template.spec.containers[0].env"]


def test_a_missing_list_element_is_drift():
    assert differences({"ports": [1, 2]}, {"ports": [1]}) == [".ports"]


def test_reordered_list_elements_are_drift():
    desired = {"args": ["a", "b"]}
    assert differences(desired, {"args": ["b", "a"]}) == [".args[0]", ".args[1]"]


def test_a_list_replaced_by_something_else_is_drift():
    assert differences({"ports": [1]}, {"ports": "1"}) == [".ports"]
    assert differences({"ports": [1]}, {}) == [".ports"]


def test_a_map_replaced_by_a_scalar_is_drift():
    assert differences({"spec": {"replicas": 1}}, {"spec": None}) == [".spec"]
    assert differences({"spec": {"replicas": 1}}, {}) == [".spec"]


def test_a_non_map_live_object_is_drift_at_the_root():
    assert differences({"kind": "Secret"}, None) == ["."]


def test_extra_keys_in_nested_maps_are_ignored_outside_data():
    desired = {"metadata": {"labels": {"a": "1"}}}
    live = {"metadata": {"labels": {"a": "1", "added-by-someone": "x"}}}
    assert differences(desired, live) == []


def test_an_extra_secret_data_key_is_drift():
    desired = {"kind": "Secret", "data": {"A": "MQ=="}}
    live = {"kind": "Secret", "data": {"A": "MQ==", "INJECTED": "eA=="}, "type": "Opaque"}
    assert differences(desired, live) == [".data"]


def test_a_changed_secret_data_value_is_drift():
    desired = {"data": {"A": "MQ=="}}
    assert differences(desired, {"data": {"A": "Mg=="}}) == [".data"]


def test_a_missing_secret_data_key_is_drift():
    desired = {"data": {"A": "MQ==", "B": "Mg=="}}
    assert differences(desired, {"data": {"A": "MQ=="}}) == [".data"]


def test_an_equal_secret_data_is_no_drift():
    desired = {"data": {"A": "MQ==", "B": "Mg=="}}
    assert differences(desired, {"data": {"B": "Mg==", "A": "MQ=="}}) == []


def test_empty_data_matches_a_live_object_without_data():
    # The API server leaves an empty map out entirely.
    assert differences({"kind": "Secret", "data": {}}, {"kind": "Secret"}) == []


def test_non_empty_data_against_missing_data_is_drift():
    assert differences({"data": {"A": "MQ=="}}, {}) == [".data"]


def test_empty_data_against_non_empty_live_data_is_drift():
    assert differences({"data": {}}, {"data": {"X": "eA=="}}) == [".data"]


def test_data_is_exact_only_at_the_top_level():
    # A nested `data` key is an ordinary map: extra live keys are ignored there.
    desired = {"spec": {"data": {"A": "1"}}}
    assert differences(desired, {"spec": {"data": {"A": "1", "B": "2"}}}) == []


def test_an_empty_desired_map_or_list_matches_a_left_out_key():
    assert differences({"metadata": {"annotations": {}}, "args": []}, {"metadata": {}}) == []
    assert (
        differences({"metadata": {"annotations": {}}}, {"metadata": {"annotations": {"a": "b"}}})
        == []
    )
    assert differences({"args": []}, {"args": ["x"]}) == [".args"]


def test_the_desired_secret_matches_itself_served_with_extra_metadata():
    spec = AppSpec(name="shop", uid="u", namespace="ns", release=1, image="", config={"K": "v"})
    desired = m.config_secret(spec)
    live = copy.deepcopy(desired)
    live["metadata"] |= {"uid": "x", "resourceVersion": "9", "creationTimestamp": "2025-01-01"}
    assert differences(desired, live) == []
    live["data"]["EXTRA"] = "eA=="
    assert differences(desired, live) == [".data"]


def test_scalars_are_compared_by_value():
    assert differences({"a": 1}, {"a": 1}) == []
    assert differences({"a": "1"}, {"a": 1}) == [".a"]
    assert differences({"a": False}, {}) == [".a"]


def test_every_difference_is_reported_not_only_the_first():
    desired = {"a": 1, "b": {"c": 2, "d": [3]}}
    live = {"a": 9, "b": {"c": 9, "d": [9]}}
    assert differences(desired, live) == [".a", ".b.c", ".b.d[0]"]


def test_key_identifies_an_object_by_kind_namespace_and_name():
    assert key({"kind": "Service", "metadata": {"name": "shop", "namespace": "ns"}}) == (
        "Service",
        "ns",
        "shop",
    )
    assert key({"kind": "Namespace", "metadata": {"name": "ns"}}) == ("Namespace", "", "ns")
