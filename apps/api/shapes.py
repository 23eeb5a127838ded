"""Our records in the shapes of Heroku's Platform API objects (see the published schema). Ids
Heroku gives as UUIDs and we do not store are derived, stably, from what we do store."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings

from apps.platform.models import App, Dyno, DynoSize, ProcessType, Release

NAMESPACE = uuid.UUID("6f1c1d3e-4b7a-4c55-9a57-5f0f6a0c2e11")


# The one stack: an app runs the image of its release, whatever base it was built on.
STACK = "container"


def derived_id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def _ts(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def user_email(user: Any) -> str:
    return user.email or f"{user.get_username()}@users.noreply.localhost"


def user(user: Any | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": derived_id("user", user.pk), "email": user_email(user)}


def account(account: Any) -> dict[str, Any]:
    return {
        **(user(account) or {}),
        "name": account.get_full_name() or account.get_username(),
        "allow_tracking": False,
        "beta": False,
        "verified": True,
        "two_factor_authentication": False,
        "default_organization": None,
        "default_team": None,
        "delinquent_at": None,
        "federated": False,
        "identity_provider": None,
        "sms_number": None,
        "suspended_at": None,
        "created_at": _ts(account.date_joined),
        "updated_at": _ts(account.date_joined),
        "last_login": _ts(account.last_login),
    }


def _named(kind: str, name: str) -> dict[str, str]:
    return {"id": derived_id(kind, name), "name": name}


def app_ref(app: App) -> dict[str, str]:
    return {"id": str(app.uid), "name": app.name}


def app(app: App, *, released_at: datetime | None = None) -> dict[str, Any]:
    team = {"id": derived_id("team", app.team_id), "name": app.team.name}
    domain = settings.PAAS_APPS_DOMAIN
    return {
        "id": str(app.uid),
        "name": app.name,
        "maintenance": app.maintenance,
        "created_at": _ts(app.created),
        "updated_at": _ts(app.updated),
        "released_at": _ts(released_at),
        "archived_at": None,
        "owner": user(app.owner) or {"id": derived_id("team", app.team_id), "email": ""},
        "team": team,
        "organization": team,
        "space": None,
        "region": _named("region", settings.PAAS_REGION),
        "stack": _named("stack", STACK),
        "build_stack": _named("stack", STACK),
        "generation": _named("generation", "cedar"),
        "git_url": "",
        # A string always: the CLI's apps:rename reads it; "" until the app has an address.
        "web_url": f"http://{app.name}.{domain}/" if domain else "",
        "buildpack_provided_description": None,
        "repo_size": None,
        "slug_size": None,
        "acm": False,
        "internal_routing": None,
        "locked": False,
        "process_tier": "production",
        "create_status": "complete",
    }


def formation(process: ProcessType, app: App) -> dict[str, Any]:
    return {
        "id": derived_id("formation", app.uid, process.name),
        "app": app_ref(app),
        "type": process.name,
        "command": process.command,
        "quantity": process.quantity,
        "size": process.size.name,
        "dyno_size": size_ref(process.size),
        "created_at": _ts(app.created),
        "updated_at": _ts(app.updated),
    }


def size_ref(size: DynoSize) -> dict[str, str]:
    return {"id": derived_id("size", size.name), "name": size.name}


DYNO_STATES = {"up": "up", "starting": "starting", "crashed": "crashed", "stopping": "down"}


def dyno(dyno: Dyno, app: App, process: ProcessType | None, releases: dict[int, str]) -> Any:
    version = dyno.release
    return {
        "id": dyno.pod_uid,
        "name": dyno.name,
        "type": dyno.process_type,
        "command": process.command if process else "",
        "state": DYNO_STATES[dyno.state],
        "size": process.size.name if process else "",
        "attach_url": None,
        "release": {"id": releases.get(version or 0), "version": version},
        "app": app_ref(app),
        "created_at": _ts(dyno.created),
        "updated_at": _ts(dyno.changed),
    }


def release(release: Release, app: App, *, current: bool, status: str) -> dict[str, Any]:
    return {
        "id": str(release.uid),
        "version": release.version,
        "description": release.description,
        "status": status,
        "current": current,
        "eligible_for_rollback": True,
        "output_stream_url": None,
        "slug": None,
        "oci_image": {"id": derived_id("image", release.image)} if release.image else None,
        "user": user(release.created_by) or {"id": derived_id("system"), "email": "platform"},
        "app": app_ref(app),
        "addon_plan_names": [],
        "artifacts": [],
        "created_at": _ts(release.created),
        "updated_at": _ts(release.created),
    }


def collaborator(app: App, member: Any, role: str, permissions: list[str]) -> dict[str, Any]:
    return {
        "id": derived_id("collaborator", app.uid, member.pk),
        "app": app_ref(app),
        "user": {**(user(member) or {}), "federated": False},
        "role": role,
        "permissions": [{"name": p, "description": PERMISSIONS[p]} for p in permissions],
        "created_at": _ts(app.created),
        "updated_at": _ts(app.updated),
    }


PERMISSIONS = {
    "view": "Can view the app: its formation, dynos, releases, logs and config var names.",
    "deploy": "Can deploy new releases and roll back.",
    "operate": "Can scale, restart and run dynos.",
    "manage": "Can change config vars, collaborators and settings, and destroy the app.",
}
