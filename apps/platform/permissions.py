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

import uuid
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404

from apps.platform.json_rows import from_json_row
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


def visible_apps_sql(user: Any) -> tuple[str, list[Any]]:
    """visible_apps as SQL with its parameters, selecting id, name and team_id: the apps list
    builds on it in raw SQL, where the ORM took longer to compile the query than Postgres to
    run it."""
    sql = f"SELECT a.id, a.name, a.team_id FROM {App._meta.db_table} a"
    if is_site_admin(user):
        return sql, []
    if not user.is_authenticated:
        return f"{sql} WHERE false", []
    return (
        f"""{sql} WHERE a.team_id IN (
              SELECT m.team_id FROM {Membership._meta.db_table} m WHERE m.user_id = %s)
            OR a.id IN (
              SELECT c.app_id FROM {Collaborator._meta.db_table} c WHERE c.user_id = %s)""",
        [user.pk, user.pk],
    )


def member_teams(user: Any) -> QuerySet[Team]:
    if is_site_admin(user):
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user)


# The app with its team and owner, and what the user holds on it, in one round trip: every
# request for an app's page or API starts here, and the three ORM queries it replaces cost more
# to build than to run.
_APP_ACCESS = f"""
SELECT row_to_json(a), row_to_json(t), row_to_json(o),
  (SELECT array_agg(m.role) FROM {Membership._meta.db_table} m
   WHERE m.team_id = a.team_id AND m.user_id = %(user)s),
  (SELECT ARRAY(SELECT jsonb_array_elements_text(c.permissions))
   FROM {Collaborator._meta.db_table} c WHERE c.app_id = a.id AND c.user_id = %(user)s)
FROM {App._meta.db_table} a
JOIN {Team._meta.db_table} t ON t.id = a.team_id
LEFT JOIN {User._meta.db_table} o ON o.id = a.owner_id
WHERE a.{{column}} = %(identity)s
"""


def app_for(user: Any, identity: str) -> App:
    """The app by name or id among the user's own; any other raises Http404. What the user may
    do on it comes with it, so app_permissions and require cost no further query."""
    if not user.is_authenticated or "\x00" in identity:
        raise Http404("No such app")
    column = "name"
    if len(identity) == 36 and identity.count("-") == 4:
        try:
            identity = str(uuid.UUID(identity))
        except ValueError:
            raise Http404("No such app") from None
        column = "uid"
    with connection.cursor() as cursor:
        cursor.execute(_APP_ACCESS.format(column=column), {"user": user.pk, "identity": identity})
        found = cursor.fetchone()
    if found is None:
        raise Http404("No such app")
    app_row, team_row, owner_row, roles, granted = found
    permissions = _permissions(is_site_admin(user), roles or [], granted)
    if not permissions:
        raise Http404("No such app")
    app = from_json_row(App, app_row)
    app.team = from_json_row(Team, team_row)
    app.owner = from_json_row(User, owner_row) if owner_row else None
    app._held = (user.pk, permissions)  # type: ignore[attr-defined]
    return app


def _permissions(site_admin: bool, roles: list[str], granted: list[str] | None) -> frozenset[str]:
    if site_admin or Membership.Role.ADMIN in roles:
        return ALL
    if not roles and granted is None:
        return frozenset()
    return frozenset({*(granted or ()), VIEW})


def is_team_admin(user: Any, team: Team) -> bool:
    return (
        is_site_admin(user)
        or Membership.objects.filter(team=team, user=user, role=Membership.Role.ADMIN).exists()
    )


def app_permissions(user: Any, app: App) -> frozenset[str]:
    held = getattr(app, "_held", None)
    if held is not None and held[0] == user.pk:
        return held[1]  # type: ignore[no-any-return]
    if is_site_admin(user):
        return ALL
    roles = Membership.objects.filter(team_id=app.team_id, user=user).values_list("role", flat=True)
    granted = Collaborator.objects.filter(app=app, user=user).values_list("permissions", flat=True)
    return _permissions(False, list(roles), granted[0] if granted else None)


def require_config_values(user: Any, app: App) -> None:
    """Config var values are secrets: hidden from those who can only view the app."""
    if app_permissions(user, app) <= {VIEW}:
        raise PermissionDenied("Config var values are hidden from those who can only view.")


def require(user: Any, app: App, permission: str) -> None:
    if permission not in app_permissions(user, app):
        raise PermissionDenied(f"You need the {permission} permission on {app.name} to do this.")
