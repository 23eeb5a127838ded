"""Every write to the desired state. Each validates all of its input before storing anything,
runs in one transaction, records an Activity, and opens an Operation for the reconciler."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.kube.adapter import NotOurs, TemporaryError
from apps.platform import encryption, features, quotas, tasks
from apps.platform.features import find_feature
from apps.platform.installation import cluster
from apps.platform.models import (
    Activity,
    App,
    ConfigVar,
    Dyno,
    DynoSize,
    HealthCheck,
    Operation,
    ProcessType,
    Release,
    Team,
    Tombstone,
)
from apps.platform.validators import (
    ascii_int,
    validate_app_name,
    validate_autoscale,
    validate_config_key,
    validate_config_total,
    validate_config_value,
    validate_healthcheck,
    validate_image,
    validate_process_type,
    validate_quantity,
    validate_rolling_update,
)

User = AbstractBaseUser | AnonymousUser | None
DEFAULT_SIZE = "basic"


def _user(actor: User) -> Any:
    return actor if actor is not None and actor.is_authenticated else None


def _record(
    app: App, actor: User, action: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    Activity.objects.create(
        app=app, app_name=app.name, actor=_user(actor), action=action, before=before, after=after
    )


def _locked(app: App) -> App:
    """The app's row, locked: changes to one app are serialised, the last commit wins whole."""
    return App.objects.select_for_update().get(pk=app.pk)


def _new_release(app: App, actor: User, description: str, *, image: str | None = None) -> Release:
    previous = app.releases.order_by("-version").first()
    return Release.objects.create(
        app=app,
        version=previous.version + 1 if previous else 1,
        image=previous.image if image is None and previous else (image or ""),
        config=dict(app.config_vars.values_list("key", "value")),
        commands=dict(app.process_types.values_list("name", "command")),
        description=description,
        created_by=_user(actor),
    )


def _operation(
    app: App, actor: User, kind: str, release: Release | None = None, **fields: Any
) -> Operation:
    """Opens the operation and has the app reconciled once the transaction commits. Changes
    queued behind each other are superseded by the newest when a reconcile claims them (see
    reconcile._superseded), which keeps this write, on the path of every change, to one insert."""
    operation = Operation.objects.create(
        app=app, kind=kind, release=release, created_by=_user(actor), **fields
    )
    app_id = app.pk
    # robust: with the broker down the change is still accepted; the resync will find it.
    transaction.on_commit(lambda: tasks.reconcile_app.delay(app_id), robust=True)
    return operation


def _process(app: App, name: str) -> ProcessType:
    process = app.process_types.filter(name=name).select_related("size").first()
    if process is None:
        raise ValidationError(f"{app.name} has no process type {name!r}.", code="unknown_process")
    return process


def _free_namespace(name: str, app_uid: str) -> str:
    """The app's namespace, refused when it is reserved or when the cluster holds it already:
    the platform never moves into a namespace it did not make for this app."""
    namespace = f"{settings.APP_NAMESPACE_PREFIX}{name}"
    if namespace in settings.RESERVED_NAMESPACES or namespace.startswith("kube-"):
        raise ValidationError(
            f"The name {name} would place the app in the reserved namespace {namespace}.",
            code="reserved_namespace",
        )
    holder = App.objects.filter(namespace=namespace).first()
    if holder is not None:
        raise ValidationError(
            f"The name {name} is taken: app {holder.name} was renamed from it and keeps its "
            f"namespace {namespace}.",
            code="app_name_taken",
        )
    try:
        cluster().claim_namespace(namespace, app_uid)
    except NotOurs as exc:
        raise ValidationError(str(exc), code="namespace_exists") from exc
    except TemporaryError:
        pass  # unreachable, or a destroyed app's namespace leaving: the reconciler checks again
    return namespace


@transaction.atomic
def app_create(*, actor: User, team: Team, name: str) -> App:
    validate_app_name(name)
    if App.objects.filter(name=name).exists():
        raise ValidationError(f"The name {name} is already taken.", code="app_name_taken")
    uid = uuid.uuid4()
    namespace = _free_namespace(name, str(uid))
    with quotas.within_quota(team.pk):
        app = App.objects.create(
            name=name,
            team=team,
            namespace=namespace,
            uid=uid,
            owner=_user(actor),
            data_key=encryption.new_data_key(),
        )
    release = _new_release(app, actor, "Initial release")
    _operation(app, actor, Operation.Kind.CREATE, release)
    _record(app, actor, "app.create", {}, {"name": name, "team": team.name})
    return app


@dataclass(frozen=True)
class ProcessChange:
    """One line of a formation update: any of quantity, size and command may be left out."""

    name: str
    quantity: int | None = None
    size: str | None = None
    command: str | None = None


@transaction.atomic
def formation_update(*, actor: User, app: App, changes: list[ProcessChange]) -> Operation:
    for change in changes:
        validate_process_type(change.name)
        if change.quantity is not None:
            validate_quantity(change.quantity)
    app = _locked(app)
    existing = {p.name: p for p in app.process_types.select_related("size")}
    sizes: dict[str, DynoSize] = {}
    # The catalogue is read only when a size is named or a process type is new: a plain scale,
    # the most frequent change, does without it.
    if any(c.size is not None or c.name not in existing for c in changes):
        sizes = {size.name: size for size in DynoSize.objects.all()}
    for change in changes:
        if change.size is not None and change.size not in sizes:
            raise ValidationError(
                f"Unknown dyno size {change.size!r}: choose one of {', '.join(sizes)}.",
                code="unknown_size",
            )
        process = existing.get(change.name)
        if process is not None and process.autoscaled and change.quantity is not None:
            raise ValidationError(
                f"{change.name} is autoscaled between {process.autoscale_min} and "
                f"{process.autoscale_max} dynos: change the range, or turn autoscaling off to "
                "set a quantity.",
                code="autoscaled",
            )
    before = {n: {"quantity": p.quantity, "size": p.size.name} for n, p in existing.items()}
    commands_changed = False
    with quotas.within_quota(app.team_id):
        for change in changes:
            process = existing.get(change.name) or ProcessType(
                app=app, name=change.name, size=sizes[DEFAULT_SIZE]
            )
            if change.quantity is not None:
                process.quantity = change.quantity
            if change.size is not None:
                process.size = sizes[change.size]
            if change.command is not None and change.command != process.command:
                process.command, commands_changed = change.command, True
            # Only the fields a formation change sets: a shorter statement on every scale's path.
            process.save(update_fields=["quantity", "size", "command"] if process.pk else None)
            existing[change.name] = process
    after = {n: {"quantity": p.quantity, "size": p.size.name} for n, p in existing.items()}
    release = _new_release(app, actor, "Update process commands") if commands_changed else None
    _record(app, actor, "formation.update", before, after)
    return _operation(app, actor, Operation.Kind.SCALE, release)


@transaction.atomic
def config_update(*, actor: User, app: App, changes: dict[str, str | None]) -> Release:
    """Sets each key to its value, or unsets it when the value is None: a new release, as on
    Heroku, which rolls every dyno."""
    app = _locked(app)
    current = encryption.app_config(app)
    wanted = dict(current)
    for key, value in changes.items():
        validate_config_key(key)
        if value is None:
            wanted.pop(key, None)
        else:
            validate_config_value(key, value)
            wanted[key] = value
    validate_config_total(wanted)
    if wanted == current:
        raise ValidationError("Nothing to change: the config vars already hold these values.")
    app.config_vars.exclude(key__in=wanted).delete()
    for key, value in wanted.items():
        if current.get(key) != value:
            sealed = encryption.seal(app, value)
            ConfigVar.objects.update_or_create(app=app, key=key, defaults={"value": sealed})
    set_keys = sorted(k for k in wanted if current.get(k) != wanted[k])
    unset_keys = sorted(k for k in current if k not in wanted)
    parts = [f"Set {', '.join(set_keys)}"] if set_keys else []
    parts += [f"Unset {', '.join(unset_keys)}"] if unset_keys else []
    release = _new_release(app, actor, "; ".join(parts) + " config vars")
    _operation(app, actor, Operation.Kind.CONFIG, release)
    # Values stay out of the audit trail: it records which keys changed, never secrets.
    _record(app, actor, "config.update", {"keys": sorted(current)}, {"keys": sorted(wanted)})
    return release


@transaction.atomic
def release_deploy(
    *,
    actor: User,
    app: App,
    image: str,
    description: str = "",
    commands: dict[str, str] | None = None,
) -> Release:
    """A new release of the image. `commands` (a parsed Procfile) sets the process types' commands
    in the same release; a type seen for the first time starts with one dyno if it is web, none
    otherwise, as on Heroku."""
    validate_image(image)
    for name in commands or {}:
        validate_process_type(name)
    app = _locked(app)
    if commands:
        existing = {p.name: p for p in app.process_types.all()}
        size = DynoSize.objects.filter(name=DEFAULT_SIZE).first() or DynoSize.objects.first()
        with quotas.within_quota(app.team_id):  # a first web dyno counts
            for name, command in commands.items():
                process = existing.get(name) or ProcessType(
                    app=app, name=name, size=size, quantity=1 if name == "web" else 0
                )
                if process.pk is None or process.command != command:
                    process.command = command
                    process.save()
    release = _new_release(app, actor, description or f"Deploy {image}", image=image)
    _operation(app, actor, Operation.Kind.DEPLOY, release)
    _record(app, actor, "release.deploy", {}, {"version": release.version, "image": image})
    return release


@transaction.atomic
def release_rollback(*, actor: User, app: App, version: int) -> Release:
    """Restores an earlier release's image and config as a new release; formation untouched."""
    app = _locked(app)
    target = app.releases.filter(version=version).first()
    if target is None:
        raise ValidationError(f"{app.name} has no release v{version}.", code="unknown_release")
    app.config_vars.all().delete()
    ConfigVar.objects.bulk_create(
        ConfigVar(app=app, key=k, value=v) for k, v in target.config.items()
    )
    release = _new_release(app, actor, f"Rollback to v{version}", image=target.image)
    _operation(app, actor, Operation.Kind.ROLLBACK, release)
    _record(app, actor, "release.rollback", {}, {"version": release.version, "to": version})
    return release


@transaction.atomic
def app_maintenance(*, actor: User, app: App, enabled: bool) -> Operation | None:
    """Maintenance mode, as on Heroku: the dynos keep running and web traffic stops."""
    app = _locked(app)
    if app.maintenance == enabled:
        return None
    App.objects.filter(pk=app.pk).update(maintenance=enabled)
    _record(app, actor, "app.maintenance", {"maintenance": not enabled}, {"maintenance": enabled})
    return _operation(app, actor, Operation.Kind.SETTINGS, target="maintenance")


@transaction.atomic
def app_rename(*, actor: User, app: App, name: str) -> Operation | None:
    """A new name for the app. Its namespace and objects stay: their names never carry the app's
    name (the namespace's is recorded), so only labels and PAAS_APP change, by a rolling update."""
    app = _locked(app)
    if name == app.name:
        return None
    validate_app_name(name)
    if App.objects.filter(name=name).exists():
        raise ValidationError(f"The name {name} is already taken.", code="app_name_taken")
    old = app.name
    try:
        with transaction.atomic():
            App.objects.filter(pk=app.pk).update(name=name)
    except IntegrityError:  # taken by a rename or create that committed since the check
        raise ValidationError(f"The name {name} is already taken.", code="app_name_taken") from None
    app.name = name
    _record(app, actor, "app.rename", {"name": old}, {"name": name})
    return _operation(app, actor, Operation.Kind.SETTINGS, target="name")


@transaction.atomic
def feature_set(*, actor: User, app: App, name: str, enable: bool) -> Operation | None:
    """Switches one of the app's features; the reconciler carries it to the app's objects."""
    feature = find_feature(name)
    app = _locked(app)
    if features.enabled(app.features, name) == enable:
        return None
    changed = {k: v for k, v in app.features.items() if k != name}
    if enable != feature.default:
        changed[name] = enable
    App.objects.filter(pk=app.pk).update(features=changed)
    _record(app, actor, "app.feature", {name: not enable}, {name: enable})
    return _operation(app, actor, Operation.Kind.SETTINGS, target=f"feature:{name}")


@transaction.atomic
def app_destroy(*, actor: User, app: App) -> None:
    """Removes the app at once, as on Heroku; its namespace is deleted after the commit, and the
    resync deletes it too if that task is lost: its tombstone is kept until the namespace is
    gone."""
    app = _locked(app)
    _record(app, actor, "app.destroy", {"name": app.name, "team": app.team.name}, {})
    uid = str(app.uid)
    # The proof the teardown and the resync need before they delete the namespace.
    Tombstone.objects.create(app_uid=uid, app_name=app.name, namespace=app.namespace)
    app.delete()
    transaction.on_commit(lambda: tasks.teardown_app.delay(uid), robust=True)


@transaction.atomic
def dyno_restart(*, actor: User, app: App, target: str = "") -> Operation:
    """Restarts every dyno (target blank), one process type (web), or one dyno (web.2).

    A process type restarts by a rolling update, so it never drops to zero; one dyno restarts
    by deleting its pod, which its Deployment replaces."""
    app = _locked(app)
    pods: list[str] = []
    if "." in target:
        process_name, _, number = target.partition(".")
        dyno = (
            Dyno.objects.filter(
                app=app,
                process_type=process_name,
                number=ascii_int(number) or 0,  # no dyno is numbered 0
            )
            .exclude(state=Dyno.State.STOPPING)
            .order_by("-created")  # mid-rollout the new web.1 and the old share the name
            .first()
        )
        if dyno is None:
            raise ValidationError(f"{app.name} has no dyno {target}.", code="unknown_dyno")
        pods = [dyno.pod_name]
    else:
        processes = [_process(app, target)] if target else list(app.process_types.all())
        ProcessType.objects.filter(pk__in=[p.pk for p in processes]).update(
            restarted_at=timezone.now()
        )
    _record(app, actor, "dyno.restart", {}, {"target": target or "all"})
    return _operation(app, actor, Operation.Kind.RESTART, target=target, pods=pods)


@transaction.atomic
def autoscale_update(
    *,
    actor: User,
    app: App,
    process: str,
    minimum: int | None,
    maximum: int | None,
    cpu_percent: int = 70,
) -> Operation:
    """Autoscales a process type between minimum and maximum on CPU, or turns autoscaling off
    when both are None (the quantity is then kept at the last count)."""
    app = _locked(app)
    target = _process(app, process)
    before = {"min": target.autoscale_min, "max": target.autoscale_max}
    if minimum is None and maximum is None:
        target.autoscale_min = target.autoscale_max = None
    elif minimum is None or maximum is None:
        raise ValidationError("Give both a minimum and a maximum.", code="invalid_autoscale")
    else:
        validate_autoscale(minimum, maximum, cpu_percent)
        target.autoscale_min, target.autoscale_max = minimum, maximum
        target.autoscale_cpu_percent = cpu_percent
        # The count the range starts from, kept when autoscaling is turned off again.
        target.quantity = min(max(target.quantity, minimum), maximum)
    with quotas.within_quota(app.team_id):
        target.save()
    after = {"min": target.autoscale_min, "max": target.autoscale_max}
    _record(app, actor, "autoscale.update", before | {"process": process}, after)
    return _operation(app, actor, Operation.Kind.AUTOSCALE, target=process)


@transaction.atomic
def process_settings_update(
    *,
    actor: User,
    app: App,
    process: str,
    healthcheck: str = HealthCheck.NONE,
    healthcheck_path: str = "/",
    healthcheck_command: str = "",
    initial_delay: int = 0,
    timeout: int = 5,
    max_surge: str = "25%",
    max_unavailable: str = "0",
) -> Operation:
    """Health checks (readiness and liveness) and rolling-update settings of a process type."""
    if healthcheck not in HealthCheck.values:
        raise ValidationError(
            f"Unknown health check {healthcheck!r}: choose one of {', '.join(HealthCheck.values)}.",
            code="invalid_healthcheck",
        )
    validate_healthcheck(healthcheck, healthcheck_path, healthcheck_command)
    validate_rolling_update(max_surge, max_unavailable)
    if not (0 <= initial_delay <= 600 and 1 <= timeout <= 60):
        raise ValidationError(
            "Choose an initial delay of 0 to 600 seconds and a timeout of 1 to 60 seconds.",
            code="invalid_healthcheck",
        )
    app = _locked(app)
    target = _process(app, process)
    fields = {
        "healthcheck": healthcheck,
        "healthcheck_path": healthcheck_path,
        "healthcheck_command": healthcheck_command,
        "healthcheck_initial_delay": initial_delay,
        "healthcheck_timeout": timeout,
        "max_surge": max_surge,
        "max_unavailable": max_unavailable,
    }
    before = {f: getattr(target, f) for f in fields}
    ProcessType.objects.filter(pk=target.pk).update(**fields)
    _record(app, actor, "process.settings", before | {"process": process}, fields)
    return _operation(app, actor, Operation.Kind.SETTINGS, target=process)


RUN_TTL_MAX = 24 * 3600
COMMAND_MAX = 4096


@transaction.atomic
def dyno_run(
    *,
    actor: User,
    app: App,
    command: str,
    size: str | None = None,
    env: dict[str, str] | None = None,
    ttl: int = 3600,
    attach: bool = False,
) -> Operation:
    """A one-off dyno (`heroku run:detached`): the current release's image and config running
    `command` once, named run.NNNN as on Heroku, stopped after `ttl` seconds."""
    command = command.strip()
    if not command or len(command) > COMMAND_MAX:
        raise ValidationError(
            f"Give a command to run, at most {COMMAND_MAX} characters.", code="invalid_command"
        )
    if not 1 <= ttl <= RUN_TTL_MAX:
        raise ValidationError(
            f"The time to live is 1 to {RUN_TTL_MAX} seconds.", code="invalid_ttl"
        )
    env = env or {}
    for key, value in env.items():
        validate_config_key(key)
        validate_config_value(key, value)
    app = _locked(app)
    sizes = {s.name: s for s in DynoSize.objects.all()}
    chosen = sizes.get(size or DEFAULT_SIZE)
    if chosen is None:
        raise ValidationError(
            f"Unknown dyno size {size!r}: choose one of {', '.join(sizes)}.", code="unknown_size"
        )
    release = app.releases.order_by("-version").first()
    if release is None or not release.image:
        raise ValidationError(f"Deploy an image to {app.name} first.", code="no_image")
    taken = set(Dyno.objects.filter(app=app, process_type="run").values_list("number", flat=True))
    number = next(n for n in (secrets.randbelow(9000) + 1000 for _ in range(100)) if n not in taken)
    run = {
        "name": f"run-{number}",  # the namespace is the app's
        "number": number,
        "command": command,
        "size": chosen.name,
        "env": encryption.seal_all(app, env),  # opened only to start the dyno
        "ttl": ttl,
        # Attached, the dyno waits for its session; the command then runs in it by an exec.
        "attach": attach,
    }
    quotas.admit_one_off(app.team_id)
    _record(app, actor, "dyno.run", {}, {"command": command, "dyno": f"run.{number}"})
    return _operation(app, actor, Operation.Kind.RUN, target=f"run.{number}", run=run)


@transaction.atomic
def dyno_run_inside(*, actor: User, app: App, dyno: str, command: str) -> Dyno:
    """`heroku run:inside web.1 bash`: a command in a running dyno of the formation (by an exec,
    through the rendezvous server). Nothing changes on the cluster; who ran what is recorded."""
    command = command.strip()
    if not command or len(command) > COMMAND_MAX:
        raise ValidationError(
            f"Give a command to run, at most {COMMAND_MAX} characters.", code="invalid_command"
        )
    process, _, number = dyno.partition(".")
    found = (
        Dyno.objects.filter(app=app, process_type=process, number=ascii_int(number) or 0)
        .exclude(process_type="run")
        .exclude(state=Dyno.State.STOPPING)
        .order_by("-created")  # mid-rollout the new web.1 and the old share the name
        .first()
    )
    if found is None:
        raise ValidationError(f"{app.name} has no running dyno {dyno[:40]}.", code="unknown_dyno")
    _record(app, actor, "dyno.run", {}, {"command": command, "dyno": dyno})
    return found
