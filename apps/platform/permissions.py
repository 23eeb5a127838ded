"""Who may see and change what.

- Site administrators: everything.
- A team's admins: every app of the team, with every permission, and its members.
- A team's members: see every app of the team (view), and do more on an app only where they
  are a collaborator with Heroku's permissions: deploy (releases, rollback), operate (scale,
  restart), manage (config vars, collaborators, settings, destroy).
- Anyone else made a collaborator of an app: that app, with those permissions.

An app outside all of this does not exist for the user: lookups raise Http404, never 403, so a
name cannot be probed. Inside it, a missing permission is a PermissionDenied (403) that says
which permission is needed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from apps.platform.models import App, Collaborator, Membership, Team

VIEW, DEPLOY, OPERATE, MANAGE = Collaborator.PERMISSIONS
ALL = frozenset(Collaborator.PERMISSIONS)


def is_site_admin(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_superuser)


def visible_apps(user: Any) -> QuerySet[App]:
    if is_site_admin(user):
        return App.objects.all()
    if not user.is_authenticated:
        return App.objects.none()
    return App.objects.filter(
        Q(team__in=Team.objects.filter(memberships__user=user))
        | Q(pk__in=Collaborator.objects.filter(user=user).values("app"))
    )


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


def app_permissions(user: Any, app: App) -> frozenset[str]:
    if is_site_admin(user):
        return ALL
    role = Membership.objects.filter(team_id=app.team_id, user=user).values_list("role", flat=True)
    roles = set(role)
    if Membership.Role.ADMIN in roles:
        return ALL
    granted = Collaborator.objects.filter(app=app, user=user).values_list("permissions", flat=True)
    permissions = {p for found in granted for p in found}
    return frozenset(permissions | {VIEW}) if (permissions or roles) else frozenset()


def require_config_values(user: Any, app: App) -> None:
    """Config var values are secrets: hidden from those who can only view the app."""
    if app_permissions(user, app) <= {VIEW}:
        raise PermissionDenied("Config var values are hidden from those who can only view.")


def require(user: Any, app: App, permission: str) -> None:
    if permission not in app_permissions(user, app):
        raise PermissionDenied(f"You need the {permission} permission on {app.name} to do this.")
