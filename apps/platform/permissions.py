"""Who may see and change what. An app outside a user's teams does not exist for them: lookups
raise Http404, never 403, so a name cannot be probed."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from apps.platform.models import App, Membership, Team


def is_site_admin(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_superuser)


def visible_apps(user: Any) -> QuerySet[App]:
    if is_site_admin(user):
        return App.objects.all()
    return App.objects.filter(team__memberships__user=user)


def member_teams(user: Any) -> QuerySet[Team]:
    if is_site_admin(user):
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user)


def app_for(user: Any, name: str) -> App:
    app = visible_apps(user).select_related("team").filter(name=name).first()
    if app is None:
        raise Http404("No such app")
    return app


def is_team_admin(user: Any, team: Team) -> bool:
    return (
        is_site_admin(user)
        or Membership.objects.filter(team=team, user=user, role=Membership.Role.ADMIN).exists()
    )
