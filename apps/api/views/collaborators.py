"""Who can reach an app: the team's admins (every permission) and its collaborators, each with
Heroku's per-app permissions. The CLI sees a team app with access controls, as on Heroku Teams."""

from __future__ import annotations

from typing import Any

from apps.api import shapes
from apps.api.errors import ApiError, invalid
from apps.api.http import ApiRequest, api_view, respond
from apps.api.views.common import find_app
from apps.platform.admin_services import collaborator_remove, collaborator_set
from apps.platform.models import App, Collaborator, Membership
from apps.platform.permissions import MANAGE, member_teams, require


def _listing(app: App) -> list[dict[str, Any]]:
    admins = app.team.memberships.filter(role=Membership.Role.ADMIN).select_related("user")
    every = list(Collaborator.PERMISSIONS)
    listed = [shapes.collaborator(app, m.user, "admin", every) for m in admins]
    for granted in app.collaborators.select_related("user"):
        listed.append(shapes.collaborator(app, granted.user, "member", granted.permissions))
    return listed


def _permissions(data: dict[str, Any]) -> list[str]:
    permissions = data.get("permissions", ["view", "deploy", "operate", "manage"])
    if isinstance(permissions, str):
        permissions = [p.strip() for p in permissions.split(",")]
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise invalid("permissions must be a list of names: view, deploy, operate, manage.")
    return [p for p in permissions if p]


def _user(data: dict[str, Any]) -> str:
    user = data.get("user")
    if isinstance(user, dict):
        user = user.get("email") or user.get("id")
    if not isinstance(user, str) or not user:
        raise invalid('Send {"user": "email"}.')
    return user


def _add(request: ApiRequest, app: str) -> Any:
    found = find_app(request.user, app)
    require(request.user, found, MANAGE)
    collaborator = collaborator_set(
        actor=request.user,
        app=found,
        user=_user(request.data),
        permissions=_permissions(request.data),
    )
    body = shapes.collaborator(found, collaborator.user, "member", collaborator.permissions)
    return respond(body, status=201)


@api_view("GET", "POST")
def collaborators(request: ApiRequest, app: str) -> Any:
    if request.method == "POST":
        return _add(request, app)
    return _listing(find_app(request.user, app))


@api_view("POST")
def team_collaborators(request: ApiRequest, app: str) -> Any:
    return _add(request, app)


def _find(app: App, user: str) -> dict[str, Any]:
    for item in _listing(app):
        if user in (item["user"]["email"], item["user"]["id"]):
            return item
    raise ApiError(404, "not_found", f"Couldn't find that collaborator ({user[:60]}).")


@api_view("GET", "PATCH", "DELETE")
def collaborator(request: ApiRequest, app: str, user: str) -> Any:
    found = find_app(request.user, app)
    item = _find(found, user)
    if request.method == "GET":
        return item
    require(request.user, found, MANAGE)
    if item["role"] == "admin":
        raise invalid("Team admins have every permission: change their team role instead.")
    if request.method == "PATCH":
        collaborator = collaborator_set(
            actor=request.user, app=found, user=user, permissions=_permissions(request.data)
        )
        return shapes.collaborator(found, collaborator.user, "member", collaborator.permissions)
    collaborator_remove(actor=request.user, app=found, user=user)
    return item


@api_view("GET")
def team_features(request: ApiRequest, team: str) -> Any:
    if not member_teams(request.user).filter(name=team).exists():
        raise ApiError(404, "not_found", "Couldn't find that team.")
    return [
        {
            "id": shapes.derived_id("feature", "org-access-controls"),
            "name": "org-access-controls",
            "enabled": True,
            "state": "general",
            "description": "Per-app permissions for team members: view, deploy, operate, manage.",
            "display_name": "Access controls",
            "feedback_email": "",
            "doc_url": "",
            "created_at": None,
            "updated_at": None,
        }
    ]


@api_view("GET")
def team_members(request: ApiRequest, team: str) -> Any:
    found = member_teams(request.user).filter(name=team).first()
    if found is None:
        raise ApiError(404, "not_found", "Couldn't find that team.")
    return [_member(m) for m in found.memberships.select_related("user")]


def _member(membership: Membership) -> dict[str, Any]:
    created = membership.created.isoformat()
    return {
        "id": shapes.derived_id("member", membership.pk),
        "email": shapes.user_email(membership.user),
        "role": membership.role,
        "user": shapes.user(membership.user),
        "federated": False,
        "two_factor_authentication": False,
        "created_at": created,
        "updated_at": created,
    }


@api_view("GET")
def team_permissions(request: ApiRequest) -> Any:
    return [{"name": p, "description": d} for p, d in shapes.PERMISSIONS.items()]
