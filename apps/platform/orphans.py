"""What a site administrator does with an orphan: a namespace of this installation whose app is in
no record (a database restored from an older backup, or an emptied one). Adopting rebuilds the
app's records from what runs, so the next reconcile changes nothing; deleting gives the proof
(a tombstone) that lets the namespace go."""

from __future__ import annotations

import base64
import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.kube.adapter import Cluster, ClusterError
from apps.kube.manifests import (
    APP_UID_LABEL,
    CONFIG_SECRET,
    MAINTENANCE_LABEL,
    PROCESS_LABEL,
    RELEASE_LABEL,
    RESTARTED_AT,
    Manifest,
)
from apps.platform import tasks
from apps.platform.encryption import new_data_key, seal_all
from apps.platform.installation import cluster
from apps.platform.models import (
    Activity,
    App,
    ConfigVar,
    DynoSize,
    HealthCheck,
    Operation,
    Orphan,
    ProcessType,
    Release,
    Team,
    Tombstone,
)
from apps.platform.services import DEFAULT_SIZE, User, _operation, _user
from apps.platform.validators import validate_app_name


def _millicores(value: str) -> int:
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


def _mib(value: str) -> int:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
    found = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)?", value)
    if not found:
        return 0
    return int(int(found[1]) * units.get(found[2] or "", 1 / (1024 * 1024)))


def _size(container: Manifest, sizes: list[DynoSize]) -> DynoSize:
    resources = container.get("resources", {})
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    wanted = (
        _millicores(requests.get("cpu", "0")),
        _millicores(limits.get("cpu", "0")),
        _mib(requests.get("memory", "0")),
        _mib(limits.get("memory", "0")),
    )
    for size in sizes:
        if wanted == (
            size.cpu_request_millicores,
            size.cpu_limit_millicores,
            size.memory_request_mib,
            size.memory_limit_mib,
        ):
            return size
    return next((s for s in sizes if s.name == DEFAULT_SIZE), sizes[0])


def _process(app: App, deployment: Manifest, hpa: Manifest | None, sizes: list[DynoSize]) -> None:
    spec = deployment["spec"]
    template = spec["template"]
    container = template["spec"]["containers"][0]
    command = container.get("command") or []
    process = ProcessType(
        app=app,
        name=deployment["metadata"]["labels"][PROCESS_LABEL],
        command=command[2] if command[:2] == ["/bin/sh", "-c"] and len(command) == 3 else "",
        quantity=spec.get("replicas", 0),
        size=_size(container, sizes),
    )
    rolling = spec.get("strategy", {}).get("rollingUpdate", {})
    process.max_surge = str(rolling.get("maxSurge", process.max_surge))
    process.max_unavailable = str(rolling.get("maxUnavailable", process.max_unavailable))
    restarted = (template["metadata"].get("annotations") or {}).get(RESTARTED_AT)
    if restarted:
        process.restarted_at = datetime.fromisoformat(restarted)
    probe = container.get("readinessProbe")
    if probe:
        process.healthcheck_initial_delay = probe.get("initialDelaySeconds", 0)
        process.healthcheck_timeout = probe.get("timeoutSeconds", 5)
        if "httpGet" in probe:
            process.healthcheck = HealthCheck.HTTP
            process.healthcheck_path = probe["httpGet"].get("path", "/")
        elif "tcpSocket" in probe:
            process.healthcheck = HealthCheck.TCP
        else:
            process.healthcheck = HealthCheck.COMMAND
            process.healthcheck_command = probe["exec"]["command"][-1]
    if hpa is not None:
        process.autoscale_min = hpa["spec"].get("minReplicas", 1)
        process.autoscale_max = hpa["spec"]["maxReplicas"]
        target = hpa["spec"]["metrics"][0]["resource"]["target"]
        process.autoscale_cpu_percent = target.get("averageUtilization", 70)
    process.full_clean(exclude=["app", "size"])
    process.save()


def _live(kube: Cluster, orphan: Orphan) -> dict[str, list[Manifest]]:
    found: dict[str, list[Manifest]] = {}
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler"):
        found[kind] = kube.list_owned(
            kind, namespace=orphan.namespace, selector=f"{APP_UID_LABEL}={orphan.app_uid}"
        )
    return found


def _config_secret(live: dict[str, list[Manifest]]) -> str:
    """The Secret the dynos take their config from, as their containers name it (older versions
    named it after the app)."""
    names = {
        source["secretRef"]["name"]
        for deployment in live["Deployment"]
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for source in container.get("envFrom", [])
        if "secretRef" in source
    }
    return min(names, default=CONFIG_SECRET)


@transaction.atomic
def orphan_adopt(*, actor: User, orphan: Orphan, team: Team) -> App:
    """Takes the orphan back under management in `team`, with records rebuilt from its objects:
    each Deployment a process type (command, quantity, size, health check, autoscaling), its
    image and Secret the release, the web Service's selector the maintenance mode."""
    orphan = Orphan.objects.select_for_update().get(pk=orphan.pk)
    name = orphan.app_name
    validate_app_name(name)
    if (
        App.objects.filter(name=name).exists()
        or App.objects.filter(namespace=orphan.namespace).exists()
    ):
        raise ValidationError(
            f"An app named {name} already exists here: destroy or rename it before adopting "
            "this one.",
            code="app_name_taken",
        )
    kube = cluster()
    try:
        live = _live(kube, orphan)
        secret = kube.read("Secret", orphan.namespace, _config_secret(live))
    except ClusterError as exc:
        raise ValidationError(f"The cluster could not be read: {exc}", code="cluster") from exc
    app = App.objects.create(
        name=name,
        team=team,
        namespace=orphan.namespace,
        uid=orphan.app_uid,
        owner=_user(actor),
        data_key=new_data_key(),
    )
    config = {
        key: base64.b64decode(value).decode(errors="replace")
        for key, value in ((secret or {}).get("data") or {}).items()
    }
    sealed = seal_all(app, config)
    for key, value in sorted(sealed.items()):
        ConfigVar.objects.create(app=app, key=key, value=value)
    sizes = list(DynoSize.objects.all())
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in live["HorizontalPodAutoscaler"]}
    image, version = "", 0
    for deployment in live["Deployment"]:
        _process(app, deployment, hpas.get(deployment["metadata"]["name"]), sizes)
        template = deployment["spec"]["template"]
        image = image or template["spec"]["containers"][0]["image"]
        version = max(version, int(template["metadata"]["labels"].get(RELEASE_LABEL, "0")))
    app.maintenance = any(
        MAINTENANCE_LABEL in s["spec"].get("selector", {}) for s in live["Service"]
    )
    app.save(update_fields=["maintenance"])
    release = Release.objects.create(
        app=app,
        version=max(version, 1),
        image=image,
        config=sealed,
        commands=dict(app.process_types.values_list("name", "command")),
        description="Adopted from the cluster",
        created_by=_user(actor),
    )
    Activity.objects.create(
        app=app,
        app_name=app.name,
        actor=_user(actor),
        action="orphan.adopt",
        after={"namespace": orphan.namespace, "team": team.name, "release": release.version},
    )
    orphan.delete()
    _operation(app, actor, Operation.Kind.CREATE, release)
    return app


@transaction.atomic
def orphan_delete(*, actor: User, orphan: Orphan) -> None:
    """A site administrator's word is the proof: the namespace gets a tombstone and goes."""
    orphan = Orphan.objects.select_for_update().get(pk=orphan.pk)
    Tombstone.objects.get_or_create(
        app_uid=orphan.app_uid,
        defaults={"app_name": orphan.app_name, "namespace": orphan.namespace},
    )
    Activity.objects.create(
        app_name=orphan.app_name[:30],
        actor=_user(actor),
        action="orphan.delete",
        before={"namespace": orphan.namespace, "app_uid": orphan.app_uid},
    )
    uid = orphan.app_uid
    orphan.delete()
    transaction.on_commit(lambda: tasks.teardown_app.delay(uid), robust=True)
