"""Observed state in words: rollout() over a Deployment and dyno_state() over a Pod."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.kube.status import dyno_state, rollout

CREATED = "2025-03-04T05:06:07Z"


def deployment(
    *,
    replicas: int | None = 3,
    generation: int = 2,
    observed: int = 2,
    current: int = 3,
    updated: int = 3,
    ready: int = 3,
    available: int = 3,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"progressDeadlineSeconds": 600}
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "metadata": {"name": "web", "generation": generation},
        "spec": spec,
        "status": {
            "observedGeneration": observed,
            "replicas": current,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": conditions or [],
        },
    }


def deadline_exceeded() -> list[dict[str, Any]]:
    return [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"},
    ]


def pod(
    *,
    ready: bool = True,
    containers: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    deleting: bool = False,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": "shop-web-5d9f-abcde",
        "uid": "pod-uid",
        "creationTimestamp": CREATED,
        "labels": {"paas.dev/process-type": "web", "paas.dev/release": "12"}
        if labels is None
        else labels,
    }
    if deleting:
        meta["deletionTimestamp"] = "2025-03-04T06:00:00Z"
    ready_condition = {"type": "Ready", "status": "True" if ready else "False"}
    return {
        "metadata": meta,
        "status": {
            "conditions": [ready_condition, *(conditions or [])],
            "containerStatuses": containers if containers is not None else [running()],
        },
    }


def running(restarts: int = 0) -> dict[str, Any]:
    return {
        "name": "web",
        "restartCount": restarts,
        "state": {"running": {"startedAt": CREATED}},
    }


def waiting(reason: str, message: str = "", restarts: int = 0) -> dict[str, Any]:
    state: dict[str, Any] = {"reason": reason}
    if message:
        state["message"] = message
    return {"name": "web", "restartCount": restarts, "state": {"waiting": state}}


def terminated(exit_code: int, reason: str = "Error", message: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": exit_code, "reason": reason}
    if message:
        state["message"] = message
    return {"name": "web", "restartCount": 1, "state": {"terminated": state}}


# rollout()


def test_a_fully_rolled_out_deployment_is_complete():
    r = rollout(deployment())
    assert r.state == "complete"
    assert r.message == "3 of 3 dynos available."
    assert (r.generation, r.observed_generation) == (2, 2)
    assert (r.desired, r.current, r.updated, r.ready, r.available) == (3, 3, 3, 3, 3)


def test_observed_generation_lag_is_progressing_even_if_counts_look_done():
    r = rollout(deployment(generation=3, observed=2))
    assert r.state == "progressing"
    assert r.message == "Waiting for the change to be picked up."
    assert (r.generation, r.observed_generation) == (3, 2)


def test_observed_generation_lag_wins_over_an_old_deadline_failure():
    r = rollout(deployment(generation=3, observed=2, conditions=deadline_exceeded()))
    assert r.state == "progressing"


def test_progress_deadline_exceeded_is_failed():
    r = rollout(deployment(updated=1, available=2, conditions=deadline_exceeded()))
    assert r.state == "failed"
    assert r.message == "The rollout made no progress for 600s."


def test_a_progressing_condition_with_another_reason_is_not_failed():
    conditions = [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]
    r = rollout(deployment(updated=1, available=2, conditions=conditions))
    assert r.state == "progressing"


def test_deadline_reason_on_another_condition_type_is_not_failed():
    conditions = [{"type": "Available", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    assert rollout(deployment(conditions=conditions)).state == "complete"


def test_fewer_updated_than_desired_is_progressing():
    r = rollout(deployment(updated=1, current=4, available=3))
    assert r.state == "progressing"
    assert r.message == "1 of 3 dynos updated."


def test_old_dynos_still_running_is_progressing():
    r = rollout(deployment(current=5, updated=3, available=3))
    assert r.state == "progressing"
    assert r.message == "2 old dynos stopping."


def test_updated_but_not_yet_available_is_progressing():
    r = rollout(deployment(available=1, ready=1))
    assert r.state == "progressing"
    assert r.message == "1 of 3 dynos available."


def test_a_deployment_without_status_is_waiting_for_the_controller():
    d = deployment()
    del d["status"]
    r = rollout(d)
    assert r.state == "progressing"
    assert (r.observed_generation, r.current, r.updated, r.available) == (0, 0, 0, 0)


def test_replicas_default_to_one_when_the_spec_leaves_them_out():
    r = rollout(deployment(replicas=None, current=1, updated=1, ready=1, available=1))
    assert r.desired == 1
    assert r.state == "complete"
    assert r.message == "1 of 1 dynos available."


def test_scaled_to_zero_is_complete():
    r = rollout(deployment(replicas=0, current=0, updated=0, ready=0, available=0))
    assert r.state == "complete"
    assert r.message == "0 of 0 dynos available."


def test_scaled_to_zero_with_dynos_still_running_is_progressing():
    r = rollout(deployment(replicas=0, current=2, updated=0, ready=2, available=2))
    assert r.state == "progressing"
    assert r.message == "2 old dynos stopping."


# dyno_state()


def test_a_ready_pod_is_up():
    d = dyno_state(pod())
    assert d.state == "up"
    assert d.ready is True
    assert (d.reason, d.message) == ("", "")
    assert d.process_type == "web"
    assert d.release == 12
    assert d.restarts == 0
    assert d.created == datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert d.created.utcoffset() == timedelta(0)


def test_a_pod_that_is_not_ready_is_starting():
    d = dyno_state(pod(ready=False))
    assert d.state == "starting"
    assert d.ready is False
    assert d.reason == ""


def test_a_pod_without_status_is_starting():
    p = pod()
    del p["status"]
    d = dyno_state(p)
    assert d.state == "starting"
    assert (d.ready, d.restarts) == (False, 0)


def test_a_pod_with_null_container_statuses_is_starting():
    p = pod(ready=False)
    p["status"]["containerStatuses"] = None
    assert dyno_state(p).state == "starting"


def test_a_deleted_pod_is_stopping_even_if_ready():
    d = dyno_state(pod(deleting=True))
    assert d.state == "stopping"
    assert d.ready is True


def test_a_stopping_pod_exiting_non_zero_is_not_crashed():
    # SIGTERM on the way out commonly ends in 143; that is the stop, not a crash.
    d = dyno_state(pod(ready=False, deleting=True, containers=[terminated(143)]))
    assert d.state == "stopping"
    assert d.reason == ""


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("ErrImagePull", "The image cannot be pulled"),
        ("ImagePullBackOff", "The image cannot be pulled"),
        ("InvalidImageName", "The image name is invalid"),
        ("CrashLoopBackOff", "The dyno crashes on start"),
        ("CreateContainerConfigError", "The dyno's configuration is invalid"),
        ("RunContainerError", "The command cannot be run"),
    ],
)
def test_waiting_reasons_that_need_the_user_are_crashed(reason, words):
    d = dyno_state(pod(ready=False, containers=[waiting(reason)]))
    assert d.state == "crashed"
    assert d.reason == words
    # Without a message from the kubelet, the reason itself is explained.
    assert d.message == f"{words} ({reason})."


def test_the_kubelet_message_is_kept_when_there_is_one():
    message = 'Back-off pulling image "registry.local/shop:nope"'
    d = dyno_state(pod(ready=False, containers=[waiting("ImagePullBackOff", message)]))
    assert d.state == "crashed"
    assert d.reason == "The image cannot be pulled"
    assert d.message == message


def test_a_crash_loop_shows_the_last_lines_the_dyno_printed_before_it_died():
    # The kubelet keeps them in lastState, with terminationMessagePolicy FallbackToLogsOnError.
    container = waiting("CrashLoopBackOff", "back-off 10s restarting failed container", restarts=2)
    container["lastState"] = terminated(1, message="booting\nKeyError: 'DATABASE_URL'\n")["state"]
    d = dyno_state(pod(ready=False, containers=[container]))
    assert d.state == "crashed"
    assert d.reason == "The dyno crashes on start"
    assert d.message == "Exited with status 1. Its last lines:\nbooting\nKeyError: 'DATABASE_URL'"


def test_crash_loop_counts_restarts():
    d = dyno_state(pod(ready=False, containers=[waiting("CrashLoopBackOff", restarts=4)]))
    assert d.state == "crashed"
    assert d.restarts == 4


def test_restarts_are_summed_over_containers():
    d = dyno_state(pod(containers=[running(restarts=2), running(restarts=3)]))
    assert d.restarts == 5
    assert d.state == "up"


@pytest.mark.parametrize("reason", ["ContainerCreating", "PodInitializing"])
def test_ordinary_waiting_reasons_are_starting(reason):
    d = dyno_state(pod(ready=False, containers=[waiting(reason)]))
    assert d.state == "starting"
    assert d.reason == ""


def test_a_non_zero_exit_is_crashed_with_the_status():
    d = dyno_state(pod(ready=False, containers=[terminated(1, message="boom: no such module")]))
    assert d.state == "crashed"
    assert d.reason == "Exited with status 1"
    assert d.message == "boom: no such module"


def test_a_non_zero_exit_without_message_falls_back_to_the_reason():
    d = dyno_state(pod(ready=False, containers=[terminated(137, reason="OOMKilled")]))
    assert d.state == "crashed"
    assert d.reason == "Exited with status 137"
    assert d.message == "OOMKilled"


def test_a_zero_exit_is_not_crashed():
    d = dyno_state(pod(ready=False, containers=[terminated(0, reason="Completed")]))
    assert d.state == "starting"
    assert d.reason == ""


def test_an_unschedulable_pod_is_starting_with_the_scheduler_message():
    scheduled = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient memory.",
    }
    d = dyno_state(pod(ready=False, containers=[], conditions=[scheduled]))
    assert d.state == "starting"
    assert d.reason == "Not schedulable"
    assert d.message == "No node can run this dyno: 0/3 nodes are available: 3 Insufficient memory."


def test_a_scheduled_pod_has_no_scheduling_reason():
    scheduled = {"type": "PodScheduled", "status": "True"}
    d = dyno_state(pod(ready=False, conditions=[scheduled]))
    assert d.reason == ""


def test_an_unschedulable_pod_being_deleted_is_stopping_without_reason():
    scheduled = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
    d = dyno_state(pod(ready=False, containers=[], deleting=True, conditions=[scheduled]))
    assert d.state == "stopping"
    assert d.reason == ""


def test_a_crashed_container_wins_over_a_running_one():
    d = dyno_state(pod(ready=False, containers=[running(), waiting("CrashLoopBackOff")]))
    assert d.state == "crashed"
    assert d.reason == "The dyno crashes on start"


@pytest.mark.parametrize(("label", "release"), [("12", 12), ("v12", None), ("", None)])
def test_release_is_read_from_the_label_when_numeric(label, release):
    labels = {"paas.dev/process-type": "worker", "paas.dev/release": label}
    d = dyno_state(pod(labels=labels))
    assert d.release == release
    assert d.process_type == "worker"


def test_a_pod_without_labels_has_no_process_type_or_release():
    d = dyno_state(pod(labels={}))
    assert d.process_type == ""
    assert d.release is None


def test_created_accepts_an_explicit_offset():
    p = pod()
    p["metadata"]["creationTimestamp"] = "2025-03-04T07:06:07+02:00"
    assert dyno_state(p).created == datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_a_pod_being_deleted_in_a_crash_loop_is_stopping():
    d = dyno_state(pod(ready=False, deleting=True, containers=[waiting("CrashLoopBackOff")]))
    assert (d.state, d.reason) == ("stopping", "")


def test_a_finished_one_off_dyno_says_when_it_ended_and_a_running_one_does_not():
    done = pod(ready=False, containers=[terminated(0)])
    assert dyno_state(done).ended is None  # the phase says whether the pod is done
    done["status"]["phase"] = "Succeeded"
    done["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"] = (
        "2025-03-04T07:08:09Z"
    )
    assert dyno_state(done).ended == datetime(2025, 3, 4, 7, 8, 9, tzinfo=UTC)
    assert dyno_state(pod()).ended is None
