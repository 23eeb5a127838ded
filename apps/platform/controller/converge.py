"""What differs, and making it so: the desired objects compared with the cluster (or with what
the app last applied), then only those that differ applied and those no longer wanted deleted.
A pure `plan` and the `converge` that carries it out."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from apps.kube.adapter import FIELD_MANAGER, Cluster
from apps.kube.diff import differences, key
from apps.kube.manifests import PROCESS_LABEL, AppSpec, Manifest, desired_objects

HANDOVER_MANAGER = "paas-handover"


@dataclass
class Changes:
    changed: dict[str, list[str]] = field(default_factory=dict)  # object -> differing paths
    deleted: list[str] = field(default_factory=list)
    generations: dict[str, int] = field(default_factory=dict)  # process type -> generation
    digests: dict[str, str] = field(default_factory=dict)  # object id -> digest, all desired

    def __bool__(self) -> bool:
        return bool(self.changed or self.deleted)


def _name(obj: Manifest) -> str:
    kind, _, name = key(obj)
    return f"{kind}/{name}"


def _owns_replicas(live: Manifest) -> bool:
    for entry in live["metadata"].get("managedFields", []):
        fields = entry.get("fieldsV1", {}).get("f:spec", {})
        if entry.get("manager") == FIELD_MANAGER and "f:replicas" in fields:
            return True
    return False


def _hand_over_replicas(kube: Cluster, manifest: Manifest, live: Manifest | None) -> None:
    """Before the HPA takes over, another manager keeps the current count: if our apply just
    dropped the field, the API server would reset it to 1 and the HPA would start from there."""
    meta = manifest["metadata"]
    if live is None:
        found = kube.list_owned(
            "Deployment",
            namespace=meta["namespace"],
            selector=f"{PROCESS_LABEL}={meta['labels'][PROCESS_LABEL]}",
        )
        live = next((d for d in found if d["metadata"]["name"] == meta["name"]), None)
    if live is None or not _owns_replicas(live):
        return
    kube.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            "spec": {"replicas": live["spec"].get("replicas", 1)},
        },
        manager=HANDOVER_MANAGER,
    )


def _object_id(obj: Manifest) -> str:
    kind, namespace, name = key(obj)
    return f"{kind}/{namespace}/{name}"


def _digest(manifest: Manifest) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:20]


@dataclass
class Plan:
    """What one app's converge would do: each object to apply with why, each to delete."""

    apply: list[tuple[Manifest, Manifest | None, list[str]]] = field(default_factory=list)
    delete: list[tuple[str, str, str]] = field(default_factory=list)  # kind, namespace, name
    digests: dict[str, str] = field(default_factory=dict)  # object id -> digest, all desired

    def __bool__(self) -> bool:
        return bool(self.apply or self.delete)


def plan(
    spec: AppSpec,
    live: list[Manifest] | None,
    digests: dict[str, str],
    listed: frozenset[str] = frozenset(),
) -> Plan:
    """Compares the desired objects with the cluster, a pure function.

    With the live objects (the resync lists every kind in `listed`) each object of those kinds is
    compared with the cluster, which is what finds drift. Otherwise it is compared with what this
    app last applied, from its digest: a change reaches the cluster with one write and no read,
    and an unchanged app costs no request at all."""
    if spec.unreadable:
        raise ValueError(spec.unreadable)
    result = Plan()
    live_by_key = {} if live is None else {key(obj): obj for obj in live}
    desired = desired_objects(spec)
    for manifest in desired:
        object_id = _object_id(manifest)
        current = live_by_key.get(key(manifest))
        if live is None or manifest["kind"] not in listed:
            digest = _digest(manifest)
            paths = [] if digests.get(object_id) == digest else ["(changed)"]
        else:
            paths = ["(missing)"] if current is None else differences(manifest, current)
            # What runs is what is wanted: the digest kept with it stands (the resync compares
            # thousands of objects, and hashing each would cost more than comparing it).
            digest = digests[object_id] if not paths and object_id in digests else _digest(manifest)
        result.digests[object_id] = digest
        if paths:
            result.apply.append((manifest, current, paths))
    wanted = {_object_id(m) for m in desired}
    # Only what this app applied before or what carries its labels: proof that it is ours.
    for object_id in digests:
        kind, namespace, name = object_id.split("/", 2)
        if object_id not in wanted and (live is None or kind not in listed):
            result.delete.append((kind, namespace, name))
    for obj in live_by_key.values():
        if _object_id(obj) not in wanted:
            result.delete.append(key(obj))
    return result


def converge(
    kube: Cluster,
    spec: AppSpec,
    live: list[Manifest] | None,
    digests: dict[str, str],
    listed: frozenset[str] = frozenset(),
) -> Changes:
    """Applies each desired object that differs, deletes owned objects no longer wanted, and
    returns what it changed (see `plan`)."""
    changes = Changes()
    todo = plan(spec, live, digests, listed)
    changes.digests = todo.digests
    for manifest, current, paths in todo.apply:
        if manifest["kind"] == "Namespace" and current is None:
            kube.claim_namespace(spec.namespace, spec.uid)
        if manifest["kind"] == "Deployment" and "replicas" not in manifest["spec"]:
            _hand_over_replicas(kube, manifest, current)
        if manifest["kind"] == "Secret" and current is not None:
            # Keys added by hand belong to another manager, which an apply would leave.
            result = kube.replace(manifest, current["metadata"]["resourceVersion"])
        else:
            result = kube.apply(manifest)
        changes.changed[_name(manifest)] = paths
        if manifest["kind"] == "Deployment":
            process = manifest["metadata"]["labels"][PROCESS_LABEL]
            changes.generations[process] = result["metadata"]["generation"]
    for kind, namespace, name in todo.delete:
        kube.delete(kind, namespace or None, name)
        changes.deleted.append(f"{kind}/{name}")
    return changes
