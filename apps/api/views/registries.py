"""Registry logins for pulling images, of an app or of a team (not in Heroku's API, whose images
come from its own registry): listed without their passwords, set with PUT, removed with DELETE."""

from __future__ import annotations

from typing import Any

from apps.api.errors import ApiError, invalid, not_found
from apps.api.http import ApiRequest, api_view
from apps.api.views.common import find_app
from apps.platform.models import App, RegistryCredential, Team
from apps.platform.permissions import (
    MANAGE,
    is_team_admin,
    member_teams,
    require,
    require_config_values,
)
from apps.platform.registries import logins_of, registry_login_remove, registry_login_set


def _shape(credential: RegistryCredential) -> dict[str, Any]:
    return {
        "registry": credential.registry,
        "username": credential.username,
        "scope": "app" if credential.app_id else "team",
        "created_at": credential.created.isoformat(),
        "updated_at": credential.updated.isoformat(),
    }


def _login(request: ApiRequest) -> tuple[str, str]:
    username, password = request.data.get("username"), request.data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise invalid("Give the registry's username and password (or token) as strings.")
    return username, password


def _team(request: ApiRequest, name: str) -> Team:
    """The team, if the user is a member; its logins are its admins' alone to see and change."""
    found = member_teams(request.user).filter(name=name).first()
    if found is None:
        raise ApiError(404, "not_found", "Couldn't find that team.")
    if not is_team_admin(request.user, found):
        raise ApiError(403, "forbidden", f"Only admins of {found.name} can see its logins.")
    return found


@api_view("GET")
def app_logins(request: ApiRequest, app: str) -> Any:
    """The logins the app's pods use: its team's and its own (which win for a registry)."""
    found = find_app(request.user, app)
    require_config_values(request.user, found)
    return [_shape(c) for c in logins_of(found)]


def _set_or_remove(request: ApiRequest, registry: str, owner: App | Team) -> Any:
    """PUT sets the owner's login to the registry, DELETE removes it."""
    app, team = (owner, None) if isinstance(owner, App) else (None, owner)
    if request.method == "DELETE":
        if not registry_login_remove(actor=request.user, registry=registry, app=app, team=team):
            raise not_found(f"{owner.name} has no login of its own to {registry}.")
        return {"registry": registry, "removed": True}
    username, password = _login(request)
    credential = registry_login_set(
        actor=request.user,
        registry=registry,
        username=username,
        password=password,
        app=app,
        team=team,
    )
    return _shape(credential)


@api_view("PUT", "DELETE")
def app_login(request: ApiRequest, app: str, registry: str) -> Any:
    found = find_app(request.user, app)
    require(request.user, found, MANAGE)
    return _set_or_remove(request, registry, found)


@api_view("GET")
def team_logins(request: ApiRequest, team: str) -> Any:
    found = _team(request, team)
    return [_shape(c) for c in found.registry_credentials.all()]


@api_view("PUT", "DELETE")
def team_login(request: ApiRequest, team: str, registry: str) -> Any:
    return _set_or_remove(request, registry, _team(request, team))
