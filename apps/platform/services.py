"""Every write to the desired state. Each validates all of its input before storing anything,
runs in one transaction, records an Activity, and opens an Operation for the reconciler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from apps.platform.models import (
    Activity,
    App,
    ConfigVar,
    DynoSize,
    Operation,
    ProcessType,
    Release,
    Team,
)
from apps.platform.validators import (
    validate_app_name,
    validate_config_key,
    validate_config_total,
    validate_config_value,
    validate_image,
    validate_process_type,
    validate_quantity,
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
    number = (app.releases.aggregate(v=Max("version"))["v"] or 0) + 1
    return Release.objects.create(
        app=app,
        version=number,
        image=previous.image if image is None and previous else (image or ""),
        config=dict(app.config_vars.values_list("key", "value")),
        commands=dict(app.process_types.values_list("name", "command")),
        description=description,
        created_by=_user(actor),
    )


def _operation(app: App, actor: User, kind: str, release: Release | None = None) -> Operation:
    return Operation.objects.create(app=app, kind=kind, release=release, created_by=_user(actor))


@transaction.atomic
def app_create(*, actor: User, team: Team, name: str) -> App:
    validate_app_name(name)
    if App.objects.filter(name=name).exists():
        raise ValidationError(f"The name {name} is already taken.", code="app_name_taken")
    app = App.objects.create(
        name=name, team=team, namespace=f"{settings.APP_NAMESPACE_PREFIX}{name}"
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
    app = _locked(app)
    sizes = {size.name: size for size in DynoSize.objects.all()}
    for change in changes:
        validate_process_type(change.name)
        if change.quantity is not None:
            validate_quantity(change.quantity)
        if change.size is not None and change.size not in sizes:
            raise ValidationError(
                f"Unknown dyno size {change.size!r}: choose one of {', '.join(sizes)}.",
                code="unknown_size",
            )
    existing = {p.name: p for p in app.process_types.select_related("size")}
    before = {n: {"quantity": p.quantity, "size": p.size.name} for n, p in existing.items()}
    commands_changed = False
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
        process.save()
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
    current = dict(app.config_vars.values_list("key", "value"))
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
            ConfigVar.objects.update_or_create(app=app, key=key, defaults={"value": value})
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
def release_deploy(*, actor: User, app: App, image: str, description: str = "") -> Release:
    validate_image(image)
    app = _locked(app)
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
