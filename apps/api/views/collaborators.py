"""Who can reach an app: the members of its team, as collaborators."""

from __future__ import annotations

from typing import Any

from apps.api import shapes
from apps.api.errors import ApiError, invalid
from apps.api.http import ApiRequest, api_view, respond
from apps.api.views.common import find_app
from apps.platform.admin_services import membership_remove, membership_set
from apps.platform.models import Membership
from apps.platform.permissions import is_team_admin

ROLE_PERMISSIONS = {
    Membership.Role.ADMIN: ["view", "deploy", "operate", "manage"],
    Membership.Role.MEMBER: ["view", "deploy", "operate", "manage"],
}


def _shaped(app: Any, membership: Membership) -> dict[str, Any]:
    permissions = ROLE_PERMISSIONS[Membership.Role(membership.role)]
    return shapes.collaborator(app, membership.user, membership.role, permissions)


@api_view("GET", "POST")
def collaborators(request: ApiRequest, app: str) -> Any:
    found = find_app(request.user, app)
    if request.method == "POST":
        if not is_team_admin(request.user, found.team):
            raise ApiError(403, "forbidden", "Only the team's admins can give access.")
        user = request.data.get("user")
        if isinstance(user, dict):
            user = user.get("email") or user.get("id")
        if not isinstance(user, str) or not user:
            raise invalid('Send {"user": "email"}.')
        membership = membership_set(actor=request.user, team=found.team, user=user, role="member")
        return respond(_shaped(found, membership), status=201)
    members = found.team.memberships.select_related("user").order_by("user__email")
    return [_shaped(found, m) for m in members]


@api_view("GET", "DELETE")
def collaborator(request: ApiRequest, app: str, user: str) -> Any:
    found = find_app(request.user, app)
    membership = (
        found.team.memberships.select_related("user").filter(user__email__iexact=user).first()
    ) or found.team.memberships.select_related("user").filter(user__username=user).first()
    if membership is None:
        raise ApiError(404, "not_found", f"Couldn't find that collaborator ({user[:60]}).")
    if request.method == "DELETE":
        if not is_team_admin(request.user, found.team):
            raise ApiError(403, "forbidden", "Only the team's admins can remove access.")
        body = _shaped(found, membership)
        membership_remove(actor=request.user, team=found.team, user=membership.user.username)
        return body
    return _shaped(found, membership)
