"""Team memberships that follow the groups a user holds at the sign-in provider (OIDC_TEAM_GROUPS).

At every sign-in the memberships the mapping made are brought in line with the groups the
provider reports: added, their role changed, or removed. A membership added by hand (in the
dashboard or the API) is never changed or removed here, even where the mapping would grant
another role: the platform changes only what it can prove it made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.platform.models import Activity, Membership, Team

log = logging.getLogger(__name__)
_RANK = {Membership.Role.MEMBER.value: 0, Membership.Role.ADMIN.value: 1}


def wanted_roles(groups: Iterable[str], mapping: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Team name -> role that these groups grant; of two groups granting one team, admin wins."""
    wanted: dict[str, str] = {}
    for group in groups:
        for team, role in mapping.get(group, {}).items():
            if team not in wanted or _RANK[role] > _RANK[wanted[team]]:
                wanted[team] = role
    return wanted


@transaction.atomic
def memberships_sync(*, user: Any, groups: Iterable[str]) -> None:
    """Brings the user's group-made memberships in line with `groups`, recording each change as
    the platform's (no actor). A mapped team that does not exist is skipped and logged: teams
    are made by people, never by a sign-in."""
    wanted = wanted_roles(groups, settings.OIDC_TEAM_GROUPS)
    teams = {team.name: team for team in Team.objects.filter(name__in=wanted)}
    for missing in sorted(set(wanted) - set(teams)):
        log.warning("OIDC_TEAM_GROUPS names team %r, which does not exist", missing)
    # Only the user's memberships are locked, not their teams: a sign-in never waits on a team.
    mine = Membership.objects.select_for_update(of=("self",)).filter(user=user)
    held = {m.team.name: m for m in mine.select_related("team")}
    for name, team in sorted(teams.items()):
        role = wanted[name]
        membership = held.get(name)
        if membership is None:
            Membership.objects.create(
                team=team, user=user, role=role, source=Membership.Source.GROUP
            )
            _audit("team.member", {"team": name}, {"user": user.username, "role": role})
        elif membership.source == Membership.Source.GROUP and membership.role != role:
            before = {"team": name, "role": membership.role}
            membership.role = role
            membership.save(update_fields=["role"])
            _audit("team.member", before, {"user": user.username, "role": role})
    for name, membership in sorted(held.items()):
        if membership.source == Membership.Source.GROUP and name not in teams:
            membership.delete()
            before = {"team": name, "user": user.username, "role": membership.role}
            _audit("team.remove", before, {})


def _audit(action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    Activity.objects.create(
        app=None,
        app_name="",
        actor=None,
        action=action,
        before=before,
        after=after | {"source": Membership.Source.GROUP.value},
    )
