from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.db.models import Max

from apps.api import shapes
from apps.api.errors import ApiError, invalid
from apps.api.heroku_only import unavailable
from apps.api.http import ApiRequest, api_view, respond
from apps.api.views.common import find_app
from apps.platform.permissions import MANAGE, member_teams, require, visible_apps
from apps.platform.services import app_create, app_destroy, app_maintenance, app_rename

WORDS = ("amber", "brisk", "calm", "dawn", "ember", "frost", "glade", "harbor", "iris", "jade")


def _listing(apps: Any) -> list[dict[str, Any]]:
    apps = apps.select_related("team", "owner").annotate(released_at=Max("releases__created"))
    return [shapes.app(app, released_at=app.released_at) for app in apps.order_by("name")]


@api_view("GET", "POST")
def apps(request: ApiRequest) -> Any:
    if request.method == "GET":
        return _listing(visible_apps(request.user))
    return _create(request, request.data)


@api_view("GET")
def user_apps(request: ApiRequest, user: str) -> Any:
    account: Any = request.user
    if user not in ("~", account.email, account.get_username()):
        raise ApiError(404, "not_found", "Couldn't find that user.")
    return _listing(visible_apps(request.user))


@api_view("GET")
def team_apps(request: ApiRequest, team: str) -> Any:
    found = member_teams(request.user).filter(name=team).first()
    if found is None:
        raise ApiError(404, "not_found", "Couldn't find that team.")
    return _listing(visible_apps(request.user).filter(team=found))


@api_view("POST")
def team_apps_create(request: ApiRequest) -> Any:
    return _create(request, request.data)


def _create(request: ApiRequest, data: dict[str, Any]) -> Any:
    words = f"{secrets.choice(WORDS)}-{secrets.choice(WORDS)}"
    name = data.get("name") or f"{words}-{secrets.randbelow(99999):05d}"
    if not isinstance(name, str):
        raise invalid("name must be a string.")
    teams = member_teams(request.user).order_by("name")
    team_name = data.get("team") or data.get("organization")
    team = teams.filter(name=team_name).first() if team_name else teams.first()
    if team is None:
        message = (
            f"Couldn't find team {team_name}."
            if team_name
            else ("You belong to no team yet: create one in the dashboard first.")
        )
        raise invalid(message)
    app = app_create(actor=request.user, team=team, name=name)
    return respond(shapes.app(find_app(request.user, app.name)), status=201)


@api_view("GET", "PATCH", "DELETE")
def app(request: ApiRequest, app: str) -> Any:
    found = find_app(request.user, app)
    if request.method in ("PATCH", "DELETE"):
        require(request.user, found, MANAGE)
    if request.method == "DELETE":
        body = shapes.app(found)
        app_destroy(actor=request.user, app=found)
        return body
    if request.method == "PATCH":
        data = request.data
        name, maintenance = data.get("name", found.name), data.get("maintenance")
        if not isinstance(name, str):
            raise invalid("name must be a string.")
        if maintenance is not None and not isinstance(maintenance, bool):
            raise invalid("maintenance must be true or false.")
        with transaction.atomic():  # both or neither
            app_rename(actor=request.user, app=found, name=name)
            if maintenance is not None:
                app_maintenance(actor=request.user, app=found, enabled=maintenance)
        found = find_app(request.user, name)
    released = found.releases.aggregate(at=Max("created"))["at"]
    return shapes.app(found, released_at=released)


@api_view("GET")
def empty_list(request: ApiRequest, app: str) -> Any:
    """Add-ons and domains: none exist yet, so an empty list (the CLI's apps:info reads them
    and must not get a 404)."""
    find_app(request.user, app)
    return []


@api_view("GET")
def no_pipeline(request: ApiRequest, app: str) -> Any:
    """An app's pipeline coupling is one object, or a 404 when it is in no pipeline: here it
    never is (`apps:info` takes the 404 as "none", `heroku ci` shows why)."""
    find_app(request.user, app)
    raise unavailable("pipelines")


@api_view("GET", "POST")
def addons(request: ApiRequest, app: str) -> Any:
    """None; `addons:create` is told what to use instead."""
    find_app(request.user, app)
    if request.method == "POST":
        raise unavailable("add-ons")
    return []
