"""Observed state in words: what a Deployment's status and a pod's conditions mean for a user.

Pure functions of the objects, so they are tested without a cluster and shared by the watcher
and the periodic resync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from apps.kube.manifests import PROCESS_LABEL, RELEASE_LABEL, Manifest


@dataclass(frozen=True)
class Rollout:
    generation: int
    observed_generation: int
    desired: int
    current: int
    updated: int
    ready: int
    available: int
    state: str  # progressing, complete or failed
    message: str


def rollout(deployment: Manifest) -> Rollout:
    """`kubectl rollout status`, as data: complete once every replica runs the newest template
    and is available; failed once the progress deadline has passed."""
    meta, spec, status = deployment["metadata"], deployment["spec"], deployment.get("status", {})
    generation = meta.get("generation", 0)
    observed = status.get("observedGeneration", 0)
    desired = spec.get("replicas", 1)
    current = status.get("replicas", 0)
    updated = status.get("updatedReplicas", 0)
    ready = status.get("readyReplicas", 0)
    available = status.get("availableReplicas", 0)
    conditions = {c["type"]: c for c in status.get("conditions", [])}
    progressing = conditions.get("Progressing", {})
    if observed < generation:
        state, message = "progressing", "Waiting for the change to be picked up."
    elif progressing.get("reason") == "ProgressDeadlineExceeded":
        state = "failed"
        message = f"The rollout made no progress for {spec.get('progressDeadlineSeconds')}s."
    elif updated < desired:
        state, message = "progressing", f"{updated} of {desired} dynos updated."
    elif current > updated:
        state, message = "progressing", f"{current - updated} old dynos stopping."
    elif available < updated:
        state, message = "progressing", f"{available} of {updated} dynos available."
    else:
        state, message = "complete", f"{available} of {desired} dynos available."
    return Rollout(
        generation, observed, desired, current, updated, ready, available, state, message
    )


@dataclass(frozen=True)
class DynoState:
    process_type: str
    release: int | None
    state: str  # starting, up, crashed, stopping
    ready: bool
    restarts: int
    reason: str
    message: str
    created: datetime
    template: str  # the Deployment's pod-template-hash: pods of one rollout share it
    ended: datetime | None = None  # when a pod that never restarts (a one-off) finished


# Container waiting reasons that need the user, in words they can act on.
_WAITING = {
    "ErrImagePull": "The image cannot be pulled",
    "ImagePullBackOff": "The image cannot be pulled",
    "InvalidImageName": "The image name is invalid",
    "CrashLoopBackOff": "The dyno crashes on start",
    "CreateContainerConfigError": "The dyno's configuration is invalid",
    "RunContainerError": "The command cannot be run",
}


def _ended(status: Manifest) -> datetime | None:
    """When the pod's containers had all finished, for a pod whose phase says it is done."""
    if status.get("phase") not in ("Succeeded", "Failed"):
        return None
    finished = [
        ((c.get("state") or {}).get("terminated") or {}).get("finishedAt")
        for c in status.get("containerStatuses") or []
    ]
    stamps = [datetime.fromisoformat(f.replace("Z", "+00:00")) for f in finished if f]
    return max(stamps) if stamps else datetime.now(UTC)


def dyno_state(pod: Manifest) -> DynoState:
    meta, status = pod["metadata"], pod.get("status", {})
    labels = meta.get("labels", {})
    conditions = {c["type"]: c for c in status.get("conditions", [])}
    containers = status.get("containerStatuses") or []
    restarts = sum(c.get("restartCount", 0) for c in containers)
    ready = conditions.get("Ready", {}).get("status") == "True"
    state, reason, message = ("up" if ready else "starting"), "", ""
    scheduled = conditions.get("PodScheduled", {})
    if meta.get("deletionTimestamp"):
        state = "stopping"
    elif scheduled.get("reason") == "Unschedulable":
        reason = "Not schedulable"
        message = "No node can run this dyno" + (
            f": {scheduled['message']}" if scheduled.get("message") else "."
        )
    for container in containers if state != "stopping" else []:
        waiting = container.get("state", {}).get("waiting") or {}
        terminated = container.get("state", {}).get("terminated") or {}
        last = (container.get("lastState") or {}).get("terminated") or {}
        if waiting.get("reason") == "CrashLoopBackOff" and last:
            # What it printed before it died says more than the back-off notice.
            state, reason = "crashed", _WAITING["CrashLoopBackOff"]
            message = f"Exited with status {last.get('exitCode')}." + (
                f" Its last lines:\n{last['message'].strip()}" if last.get("message") else ""
            )
        elif waiting.get("reason") in _WAITING:
            state, reason = "crashed", _WAITING[waiting["reason"]]
            message = waiting.get("message", "") or f"{reason} ({waiting['reason']})."
        elif terminated and terminated.get("exitCode", 0) != 0:
            state, reason = "crashed", f"Exited with status {terminated['exitCode']}"
            message = terminated.get("message", "") or terminated.get("reason", "")
    release = labels.get(RELEASE_LABEL, "")
    return DynoState(
        process_type=labels.get(PROCESS_LABEL, ""),
        release=int(release) if release.isascii() and release.isdigit() else None,
        state=state,
        ready=ready,
        restarts=restarts,
        reason=reason,
        message=message,
        created=datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00")),
        template=labels.get("pod-template-hash", ""),
        ended=_ended(status),
    )
