"""Manifests as pure functions of the desired state: a spec in, Kubernetes objects (dicts) out.

Nothing here reads the database or the cluster, so the same spec always gives the same objects,
which is what lets the reconciler compare them with what the cluster holds.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "paas"
APP_LABEL = "paas.dev/app"
APP_UID_LABEL = "paas.dev/app-uid"
# Which installation made the object: the one thing every list, change and delete is filtered by.
INSTALLATION_LABEL = "paas.dev/installation"
PROCESS_LABEL = "paas.dev/process-type"
RELEASE_LABEL = "paas.dev/release"
CONFIG_HASH = "paas.dev/config-hash"
RESTARTED_AT = "paas.dev/restarted-at"
# Heroku's convention: the web process listens on $PORT; the router sends traffic there.
WEB_PORT = 5000
PROGRESS_DEADLINE_SECONDS = 600

Manifest = dict[str, Any]


@dataclass(frozen=True)
class HealthCheckSpec:
    kind: str  # http, tcp or command
    path: str = "/"
    command: str = ""
    initial_delay: int = 0
    timeout: int = 5


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    command: str
    quantity: int
    cpu_request_millicores: int
    cpu_limit_millicores: int
    memory_request_mib: int
    memory_limit_mib: int
    autoscale: tuple[int, int, int] | None = None  # minimum, maximum, target CPU percent
    healthcheck: HealthCheckSpec | None = None
    max_surge: str = "25%"
    max_unavailable: str = "0"
    restarted_at: str = ""


@dataclass(frozen=True)
class AppSpec:
    name: str
    uid: str
    namespace: str
    release: int
    image: str
    config: dict[str, str] = field(default_factory=dict)
    # Why the records could not be read into this spec (a config value that does not open): then
    # nothing of the app is applied, and the reconcile says why.
    unreadable: str = ""
    processes: tuple[ProcessSpec, ...] = ()
    # In maintenance the web Service selects no pod: the dynos keep running, traffic stops.
    maintenance: bool = False
    installation: str = ""
    # RoleBindings in the namespace: (cluster role, namespace, service account) of the platform.
    access: tuple[tuple[str, str, str], ...] = ()
    # Where its pods run (installation-wide settings): nodeSelector pairs and tolerations as
    # (key, operator, value, effect).
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[tuple[str, str, str, str], ...] = ()
    # Seconds a rollout may take to make progress before it is reported failed.
    rollout_timeout: int = PROGRESS_DEADLINE_SECONDS
    # Logins to the registries its images come from: (registry, username, password).
    registries: tuple[tuple[str, str, str], ...] = ()
    # Features (apps/platform/features.py): new web dynos start before the old ones stop, and
    # dynos get Heroku's runtime metadata in their environment.
    preboot: bool = True
    dyno_metadata: bool = False
    # Pod Security's restricted level on the namespace, and dynos that must not run as root.
    restricted: bool = False


MAINTENANCE_LABEL = "paas.dev/maintenance"


def labels(spec: AppSpec, process: str | None = None) -> dict[str, str]:
    owned = {
        MANAGED_BY: MANAGER,
        INSTALLATION_LABEL: spec.installation,
        APP_LABEL: spec.name,
        APP_UID_LABEL: spec.uid,
    }
    return owned | ({PROCESS_LABEL: process} if process else {})


# Names inside an app's namespace never carry the app's name, and selectors match its uid, so a
# rename keeps every object: each process type's Deployment (and autoscaler) is named after it.
CONFIG_SECRET = "config"
REGISTRY_SECRET = "registry-logins"
WEB_SERVICE = "web"


def cpu(millicores: int) -> str:
    """In the API server's canonical form, so a live object compares equal to what was sent."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def memory(mib: int) -> str:
    if mib == 0:
        return "0"
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def int_or_percent(value: str) -> int | str:
    return value if value.endswith("%") else int(value)


def config_hash(config: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


# Pod Security Admission on every app namespace: the API server itself refuses a pod that asks
# for the host's namespaces, paths or ports, privileges or added capabilities, whoever sends it.
POD_SECURITY_VERSION = {"pod-security.kubernetes.io/enforce-version": "latest"}
# What every dyno runs with, whatever its image says: it cannot gain privileges (setuid binaries
# included), holds no capability, makes only the system calls of the runtime's default profile,
# and has no token for the API server.
CONTAINER_SECURITY_CONTEXT: Manifest = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}


def namespace(spec: AppSpec) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": spec.namespace,
            "labels": labels(spec)
            | POD_SECURITY_VERSION
            | {
                "pod-security.kubernetes.io/enforce": "restricted"
                if spec.restricted
                else "baseline"
            },
        },
    }


def _dyno_pod(spec: AppSpec) -> Manifest:
    """What every dyno's pod spec shares beyond its containers."""
    security: Manifest = {"seccompProfile": {"type": "RuntimeDefault"}}
    if spec.restricted:
        security["runAsNonRoot"] = True
    return {
        "automountServiceAccountToken": False,
        "securityContext": security,
        "enableServiceLinks": False,
    }


def role_bindings(spec: AppSpec) -> list[Manifest]:
    """What the platform's components may do inside this namespace and nowhere else: read its
    config Secret, its logs, exec into its one-off dynos."""
    subjects: dict[str, list[Manifest]] = {}
    for role, namespace, account in spec.access:
        subjects.setdefault(role, []).append(
            {"kind": "ServiceAccount", "name": account, "namespace": namespace}
        )
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": role, "namespace": spec.namespace, "labels": labels(spec)},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": accounts,
        }
        for role, accounts in sorted(subjects.items())
    ]


def config_secret(spec: AppSpec) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": CONFIG_SECRET,
            "namespace": spec.namespace,
            "labels": labels(spec),
        },
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(spec.config.items())},
    }


def registry_secret(spec: AppSpec) -> Manifest:
    """The app's registry logins in the form the kubelet reads when it pulls an image."""
    auths = {
        registry: {
            "username": username,
            "password": password,
            "auth": base64.b64encode(f"{username}:{password}".encode()).decode(),
        }
        for registry, username, password in spec.registries
    }
    config = json.dumps({"auths": auths}, sort_keys=True, separators=(",", ":"))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": REGISTRY_SECRET,
            "namespace": spec.namespace,
            "labels": labels(spec),
        },
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(config.encode()).decode()},
    }


def _probe(check: HealthCheckSpec, failure_threshold: int) -> Manifest:
    action: Manifest
    if check.kind == "http":
        action = {"httpGet": {"path": check.path or "/", "port": WEB_PORT}}
    elif check.kind == "tcp":
        action = {"tcpSocket": {"port": WEB_PORT}}
    else:
        action = {"exec": {"command": ["/bin/sh", "-c", check.command]}}
    return action | {
        "initialDelaySeconds": check.initial_delay,
        "timeoutSeconds": check.timeout,
        "periodSeconds": 10,
        "failureThreshold": failure_threshold,
    }


def _container(spec: AppSpec, process: ProcessSpec) -> Manifest:
    env: list[Manifest] = [
        {"name": "PAAS_APP", "value": spec.name},
        {"name": "PAAS_PROCESS_TYPE", "value": process.name},
        {"name": "PAAS_RELEASE_VERSION", "value": f"v{spec.release}"},
    ]
    container: Manifest = {
        "name": process.name,
        "image": spec.image,
        "envFrom": [{"secretRef": {"name": CONFIG_SECRET}}],
        "env": env,
        # A dyno that exits with an error leaves its last log lines as its status message.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": CONTAINER_SECURITY_CONTEXT,
        "resources": {
            "requests": {
                "cpu": cpu(process.cpu_request_millicores),
                "memory": memory(process.memory_request_mib),
            },
            "limits": {
                "cpu": cpu(process.cpu_limit_millicores),
                "memory": memory(process.memory_limit_mib),
            },
        },
    }
    if spec.dyno_metadata:
        env += [
            {"name": "HEROKU_APP_ID", "value": spec.uid},
            {"name": "HEROKU_APP_NAME", "value": spec.name},
            # As the API server stores it, so the live object compares equal.
            {
                "name": "HEROKU_DYNO_ID",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.uid"}},
            },
            {"name": "HEROKU_RELEASE_VERSION", "value": f"v{spec.release}"},
        ]
    if process.command:
        # As on Heroku, a Procfile command runs through a shell: $PORT, pipes and && work.
        container["command"] = ["/bin/sh", "-c", process.command]
    if process.name == "web":
        env.insert(0, {"name": "PORT", "value": str(WEB_PORT)})
        container["ports"] = [{"name": "web", "containerPort": WEB_PORT}]
    if process.healthcheck:
        container["readinessProbe"] = _probe(process.healthcheck, failure_threshold=3)
        # Liveness tolerates more failures than readiness: a slow dyno leaves the rotation
        # well before it is killed.
        container["livenessProbe"] = _probe(process.healthcheck, failure_threshold=6)
    return container


def _placement(spec: AppSpec) -> Manifest:
    """nodeSelector and tolerations, left out when unset so no pod template changes for them."""
    placement: Manifest = {}
    if spec.node_selector:
        placement["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        placement["tolerations"] = [
            {"key": key, "operator": operator, "effect": effect}
            | ({"value": value} if value else {})
            for key, operator, value, effect in spec.tolerations
        ]
    return placement


def _pull_secrets(spec: AppSpec) -> Manifest:
    """imagePullSecrets when the app has registry logins; left out otherwise, as above."""
    if not spec.registries:
        return {}
    return {"imagePullSecrets": [{"name": REGISTRY_SECRET}]}


def deployment(spec: AppSpec, process: ProcessSpec) -> Manifest:
    annotations = {CONFIG_HASH: config_hash(spec.config)}
    if process.restarted_at:
        annotations[RESTARTED_AT] = process.restarted_at
    selector = {APP_UID_LABEL: spec.uid, PROCESS_LABEL: process.name}
    strategy: Manifest = {
        "type": "RollingUpdate",
        "rollingUpdate": {
            "maxSurge": int_or_percent(process.max_surge),
            "maxUnavailable": int_or_percent(process.max_unavailable),
        },
    }
    if process.name == "web" and not spec.preboot:
        strategy = {"type": "Recreate"}  # Heroku without preboot: the old dynos stop first
    body: Manifest = {
        "selector": {"matchLabels": selector},
        "strategy": strategy,
        "progressDeadlineSeconds": spec.rollout_timeout,
        "revisionHistoryLimit": 5,
        "template": {
            "metadata": {
                "labels": labels(spec, process.name) | {RELEASE_LABEL: str(spec.release)},
                "annotations": annotations,
            },
            "spec": {
                "containers": [_container(spec, process)],
                "terminationGracePeriodSeconds": 30,
            }
            | _dyno_pod(spec)
            | _placement(spec)
            | _pull_secrets(spec),
        },
    }
    if process.autoscale is None:
        # With autoscaling the HPA owns the count; leaving replicas out keeps us from fighting it.
        body = {"replicas": process.quantity} | body
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": process.name,
            "namespace": spec.namespace,
            "labels": labels(spec, process.name),
        },
        "spec": body,
    }


def web_service(spec: AppSpec) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": WEB_SERVICE,
            "namespace": spec.namespace,
            "labels": labels(spec, "web"),
        },
        "spec": {
            "selector": {APP_UID_LABEL: spec.uid, PROCESS_LABEL: "web"}
            | ({MAINTENANCE_LABEL: "on"} if spec.maintenance else {}),
            "ports": [{"name": "http", "port": 80, "targetPort": WEB_PORT}],
        },
    }


def autoscaler(spec: AppSpec, process: ProcessSpec) -> Manifest:
    assert process.autoscale is not None
    minimum, maximum, cpu_percent = process.autoscale
    name = process.name
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": name,
            "namespace": spec.namespace,
            "labels": labels(spec, process.name),
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": minimum,
            "maxReplicas": maximum,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cpu_percent},
                    },
                }
            ],
        },
    }


def secret_names(spec: AppSpec) -> list[str]:
    """The Secrets desired_objects gives the app, by name, without building them."""
    return [CONFIG_SECRET, REGISTRY_SECRET] if spec.registries else [CONFIG_SECRET]


def desired_objects(spec: AppSpec) -> list[Manifest]:
    """Everything the app should have on the cluster, namespace first so it exists before the
    objects in it. An app with no image yet has no dynos to run."""
    objects = [namespace(spec), *role_bindings(spec), config_secret(spec)]
    if spec.registries:
        objects.append(registry_secret(spec))
    if not spec.image:
        return objects
    for process in spec.processes:
        objects.append(deployment(spec, process))
        if process.autoscale is not None:
            objects.append(autoscaler(spec, process))
    if any(p.name == "web" for p in spec.processes):
        objects.append(web_service(spec))
    return objects


NUMBER_LABEL = "paas.dev/dyno-number"
ONE_OFF = "run"


@dataclass(frozen=True)
class RunSpec:
    """A one-off dyno: `heroku run:detached`. It runs once, never restarts, and is stopped
    after `ttl` seconds."""

    name: str
    number: int
    command: str
    process: ProcessSpec
    env: tuple[tuple[str, str], ...] = ()
    ttl: int = 3600


def one_off_secret(spec: AppSpec, run: RunSpec, *, pod_uid: str = "") -> Manifest:
    """The variables a one-off dyno was given (`heroku run --env`), kept out of its Pod spec,
    which anyone who may read pods sees. Applied before the pod, then again owned by it
    (`pod_uid`), so it goes when the pod goes."""
    meta: Manifest = {
        "name": run.name,
        "namespace": spec.namespace,
        "labels": labels(spec, ONE_OFF) | {NUMBER_LABEL: str(run.number)},
    }
    if pod_uid:
        meta["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Pod", "name": run.name, "uid": pod_uid}
        ]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in run.env},
    }


def one_off_pod(spec: AppSpec, run: RunSpec) -> Manifest:
    container = _container(spec, run.process)
    container["name"] = ONE_OFF
    if run.env:
        # After the config: a variable given to the run wins over the app's of the same name.
        container["envFrom"] = [*container["envFrom"], {"secretRef": {"name": run.name}}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": run.name,
            "namespace": spec.namespace,
            "labels": labels(spec, ONE_OFF)
            | {RELEASE_LABEL: str(spec.release), NUMBER_LABEL: str(run.number)},
        },
        "spec": {
            "containers": [container],
            "restartPolicy": "Never",
            "activeDeadlineSeconds": run.ttl,
            "terminationGracePeriodSeconds": 10,
        }
        | _dyno_pod(spec)
        | _placement(spec)
        | _pull_secrets(spec),
    }
