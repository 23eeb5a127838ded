"""The local cluster behaves like a real one: controllers roll out, kwok runs pods, serves logs."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from apps.kube.adapter import LOG_LINE_MAX
from tests.helpers import wait_until
from tests.kwok import FollowedLog, append_log_line, attach_log_file

pytestmark = pytest.mark.cluster


def make_deployment(
    name: str, replicas: int, image: str = "example.com/app:v1"
) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="app", image=image)]),
            ),
        ),
    )


def is_ready(pod: Any) -> bool:
    conditions = pod.status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def wait_for_ready_pods(core: client.CoreV1Api, namespace: str, name: str, count: int) -> list[Any]:
    """Exactly `count` pods exist (terminating ones gone) and all of them are Ready."""

    def settled() -> list[Any]:
        pods: list[Any] = core.list_namespaced_pod(namespace, label_selector=f"app={name}").items
        ready = [p for p in pods if is_ready(p) and not p.metadata.deletion_timestamp]
        return pods if len(pods) == count == len(ready) else []

    return wait_until(settled, timeout=60, what=f"{count} Ready pods of {name}")


def test_deployment_of_three_replicas_gets_three_ready_pods(kube_api, namespace):
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    apps.create_namespaced_deployment(namespace, make_deployment("web", 3))

    pods = wait_for_ready_pods(core, namespace, "web", 3)

    assert {pod.status.phase for pod in pods} == {"Running"}
    assert all(pod.spec.node_name for pod in pods), "the scheduler bound every pod to a node"
    wait_until(
        lambda: apps.read_namespaced_deployment_status("web", namespace).status.ready_replicas == 3,
        what="the Deployment status to count 3 ready replicas",
    )


def test_scaling_up_to_five_and_down_to_one(kube_api, namespace):
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    apps.create_namespaced_deployment(namespace, make_deployment("web", 3))
    wait_for_ready_pods(core, namespace, "web", 3)

    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 5}})
    assert len(wait_for_ready_pods(core, namespace, "web", 5)) == 5

    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 1}})
    assert len(wait_for_ready_pods(core, namespace, "web", 1)) == 1
    wait_until(
        lambda: apps.read_namespaced_deployment_status("web", namespace).status.replicas == 1,
        what="the Deployment status to count 1 replica",
    )


def test_patching_the_pod_template_rolls_out_a_new_replicaset(kube_api, namespace):
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    apps.create_namespaced_deployment(namespace, make_deployment("web", 2))
    wait_for_ready_pods(core, namespace, "web", 2)
    first_rs = {rs.metadata.name for rs in apps.list_namespaced_replica_set(namespace).items}

    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "image": "example.com/app:v2"}]}}
        }
    }
    apps.patch_namespaced_deployment("web", namespace, patch)

    def rolled_out() -> bool:
        deployment = apps.read_namespaced_deployment_status("web", namespace)
        status = deployment.status
        return (
            status.observed_generation == deployment.metadata.generation
            and status.updated_replicas == 2
            and status.ready_replicas == 2
            and (status.replicas or 0) == 2
        )

    wait_until(rolled_out, timeout=60, what="the rollout of v2 to finish")
    replica_sets = apps.list_namespaced_replica_set(namespace).items
    new_rs = [rs for rs in replica_sets if rs.metadata.name not in first_rs]
    assert len(new_rs) == 1, "the template change created exactly one new ReplicaSet"
    assert new_rs[0].status.ready_replicas == 2
    old_rs = [rs for rs in replica_sets if rs.metadata.name in first_rs]
    assert [rs.spec.replicas for rs in old_rs] == [0]
    pods = wait_for_ready_pods(core, namespace, "web", 2)
    assert {pod.spec.containers[0].image for pod in pods} == {"example.com/app:v2"}


def test_followed_log_stream_shows_a_line_appended_to_the_fake_log(
    kube_api, namespace, pod_logs_dir
):
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    apps.create_namespaced_deployment(namespace, make_deployment("web", 1))
    pod = wait_for_ready_pods(core, namespace, "web", 1)[0].metadata.name
    log_file: Path = pod_logs_dir / f"{namespace}-{pod}.log"
    attach_log_file(kube_api, namespace, pod, log_file)
    append_log_line(log_file, "booting")

    # kwok picks up the Logs object asynchronously: reopen the stream until it serves our file.
    def stream_of_our_file() -> FollowedLog | None:
        log = FollowedLog(kube_api, namespace, pod, "app")
        if log.wait_for("booting", timeout=1):
            return log
        log.stop()
        return None

    log = wait_until(stream_of_our_file, timeout=30, interval=0, what="kwok to serve the log file")
    try:
        marker = f"hello from the pod {uuid.uuid4().hex}"
        append_log_line(log_file, marker)
        assert log.wait_for(marker, timeout=10), "the appended line reached the followed stream"
    finally:
        log.stop()


def test_job_runs_to_completion(kube_api, namespace):
    batch = client.BatchV1Api(kube_api)
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="migrate"),
        spec=client.V1JobSpec(
            backoff_limit=0,
            template=client.V1PodTemplateSpec(
                spec=client.V1PodSpec(
                    restart_policy="Never",
                    containers=[client.V1Container(name="migrate", image="example.com/app:v1")],
                )
            ),
        ),
    )
    batch.create_namespaced_job(namespace, job)

    def completed() -> bool:
        status = batch.read_namespaced_job_status("migrate", namespace).status
        conditions = {c.type: c.status for c in status.conditions or []}
        return status.succeeded == 1 and conditions.get("Complete") == "True"

    wait_until(completed, timeout=60, what="the Job to complete")
    pods = client.CoreV1Api(kube_api).list_namespaced_pod(
        namespace, label_selector="job-name=migrate"
    )
    assert [pod.status.phase for pod in pods.items] == ["Succeeded"]


def test_a_log_line_without_an_end_is_cut_and_the_lines_after_it_arrive_whole(
    kube_api, kube, namespace, pod_logs_dir
):
    """A dyno writing without a newline grew the reader's buffer without bound."""
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    apps.create_namespaced_deployment(namespace, make_deployment("web", 1))
    pod = wait_for_ready_pods(core, namespace, "web", 1)[0].metadata.name
    log_file: Path = pod_logs_dir / f"{namespace}-{pod}.log"
    attach_log_file(kube_api, namespace, pod, log_file)
    append_log_line(log_file, "x" * (5 * LOG_LINE_MAX))
    append_log_line(log_file, "after the long one")
    lines = wait_until(
        lambda: (found := list(kube.pod_log(namespace, pod))) and "after" in found[-1] and found,
        timeout=30,
        what="kwok to serve the log file",
    )
    assert [len(line) <= LOG_LINE_MAX for line in lines] == [True, True]
    assert lines[0].endswith("x" * 100)
    assert lines[1].endswith(" after the long one")
    # The kubelet stops at limitBytes: a few huge lines cannot make a page of recent lines huge.
    limited = list(kube.pod_log(namespace, pod, limit_bytes=1000))
    assert len(limited) == 1
    assert 900 < len(limited[0]) <= 1000
