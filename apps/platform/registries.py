"""Registry logins, for pulling the images of one app or of every app of a team. As every write to
the desired state (see services.py), each validates its input before storing anything, runs in
one transaction, records an Activity on each app it touches and has those apps reconciled. The
password is stored, never shown again and never written to an Activity."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.platform.models import App, Operation, RegistryCredential, Team
from apps.platform.services import User, _operation, _record
from apps.platform.validators import validate_registry_credential


def _owner(app: App | None, team: Team | None) -> dict[str, Any]:
    if (app is None) == (team is None):
        raise ValueError("a registry login belongs to an app or to a team")
    return {"app": app} if app is not None else {"team": team}


def _apps(app: App | None, team: Team | None) -> list[App]:
    """The apps whose pods the change reaches, locked in a fixed order."""
    found = App.objects.filter(pk=app.pk) if app is not None else App.objects.filter(team=team)
    return list(found.select_for_update().order_by("pk"))


def _changed(
    apps: list[App], actor: User, action: str, registry: str, scope: str, username: str = ""
) -> None:
    after = {"registry": registry, "scope": scope} | ({"username": username} if username else {})
    for target in apps:
        _record(target, actor, action, {}, after)
        _operation(target, actor, Operation.Kind.SETTINGS, target="registry")


@transaction.atomic
def registry_login_set(
    *,
    actor: User,
    registry: str,
    username: str,
    password: str,
    app: App | None = None,
    team: Team | None = None,
) -> RegistryCredential:
    """Adds the login, or replaces the one of the same registry."""
    validate_registry_credential(registry, username, password)
    owner = _owner(app, team)
    apps = _apps(app, team)
    credential, _ = RegistryCredential.objects.update_or_create(
        **owner, registry=registry, defaults={"username": username, "password": password}
    )
    _changed(apps, actor, "registry.set", registry, next(iter(owner)), username)
    return credential


@transaction.atomic
def registry_login_remove(
    *, actor: User, registry: str, app: App | None = None, team: Team | None = None
) -> bool:
    """Removes the login of that registry; False when there was none."""
    owner = _owner(app, team)
    apps = _apps(app, team)
    deleted, _ = RegistryCredential.objects.filter(**owner, registry=registry).delete()
    if deleted:
        _changed(apps, actor, "registry.remove", registry, next(iter(owner)))
    return bool(deleted)


def logins_of(app: App) -> list[RegistryCredential]:
    """The logins its pods use, by registry: its team's, and its own, which win."""
    team = RegistryCredential.objects.filter(team_id=app.team_id)
    merged = {c.registry: c for c in team} | {c.registry: c for c in app.registry_credentials.all()}
    return [merged[registry] for registry in sorted(merged)]
