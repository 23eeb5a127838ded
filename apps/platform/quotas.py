"""Team quotas: how many apps, dynos, CPU and memory a team may hold, as site administrators set
them. Every change that adds to them checks the team's totals, its own change included, before
its transaction commits: over a quota, it is refused with a message and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import connection

from apps.platform.models import App, Dyno, DynoSize, ProcessType, Team

ONE_OFF = "run"

# A process type counts at its autoscaling maximum, which the autoscaler may reach unasked.
# One-off dynos count toward the dynos only: CPU and memory cover the standing formation.
_USAGE = f"""
SELECT
  (SELECT count(*) FROM {App._meta.db_table} a WHERE a.team_id = %(team)s),
  (SELECT count(*) FROM {Dyno._meta.db_table} d JOIN {App._meta.db_table} a ON a.id = d.app_id
   WHERE a.team_id = %(team)s AND d.process_type = %(one_off)s AND d.state <> %(stopping)s),
  coalesce(sum(coalesce(p.autoscale_max, p.quantity)), 0),
  coalesce(sum(coalesce(p.autoscale_max, p.quantity) * s.cpu_limit_millicores), 0),
  coalesce(sum(coalesce(p.autoscale_max, p.quantity) * s.memory_limit_mib), 0)
FROM {ProcessType._meta.db_table} p
JOIN {App._meta.db_table} a ON a.id = p.app_id
JOIN {DynoSize._meta.db_table} s ON s.id = p.size_id
WHERE a.team_id = %(team)s
"""


def usage(team: Team) -> tuple[int, int, int, int]:
    """The team's apps, dynos, CPU millicores and memory MiB, as stored now (in this
    transaction, its own changes included)."""
    params: dict[str, int | str] = {
        "team": team.pk,
        "one_off": ONE_OFF,
        "stopping": str(Dyno.State.STOPPING),
    }
    with connection.cursor() as cursor:
        cursor.execute(_USAGE, params)
        apps, one_offs, dynos, cpu, memory = cursor.fetchone()
    return int(apps), int(one_offs) + int(dynos), int(cpu), int(memory)


@contextmanager
def within_quota(team_id: int, *, one_offs: int = 0) -> Iterator[None]:
    """Around a change that may add to the team's totals: afterwards, any total it raised above
    a quota refuses it with a ValidationError (its transaction then stores nothing). A change
    that lowers a total, or leaves it, passes even over a quota lowered since, so a team over
    it can always scale down. The team's row is locked first: two changes at once are counted
    one after the other, never both against the same total. `one_offs` counts one-off dynos
    asked for and not running yet."""
    team = Team.objects.select_for_update().get(pk=team_id)
    limits = (team.quota_apps, team.quota_dynos, team.quota_cpu_millicores, team.quota_memory_mib)
    if all(limit is None for limit in limits):
        yield
        return
    before = usage(team)
    yield
    apps, dynos, cpu, memory = usage(team)
    after = (apps, dynos + one_offs, cpu, memory)
    for limit, old, new, what in zip(
        limits, before, after, ("apps", "dynos", "millicores of CPU", "MiB of memory"), strict=True
    ):
        if limit is not None and new > limit and new > old:
            raise ValidationError(
                f"Team {team.name} may hold {limit} {what}; this would make {new}. "
                "Ask a site administrator to raise the team's quota.",
                code="quota_exceeded",
            )


def admit_one_off(team_id: int) -> None:
    """Refuses a one-off dyno that would take the team over its dyno quota: it is counted once
    it runs, and here before."""
    with within_quota(team_id, one_offs=1):
        pass
