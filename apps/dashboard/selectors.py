"""Reads shaped for the dashboard's pages, each in a constant number of queries however many apps,
process types or dynos there are."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from django.contrib.auth.models import User
from django.db import connection, models

from apps.platform.json_rows import from_json_row
from apps.platform.models import (
    Activity,
    App,
    Dyno,
    DynoSize,
    Operation,
    ProcessStatus,
    ProcessType,
    Release,
    Team,
)
from apps.platform.permissions import visible_apps_sql
from apps.platform.validators import QUANTITY_MAX

M = TypeVar("M", bound=models.Model)
BARS = ("updated", "ready", "available")
SLIDER_MIN_MAX = 10
APP_STATES = ("failed", "deploying", "drifted", "running", "stopped")


def _measured(apps_sql: str, apps_params: list[Any]) -> tuple[str, list[Any]]:
    """Each app of `apps_sql` (id, name, team_id) with the columns the list shows, state among
    them: failed, deploying, drifted (the cluster holds another count than the records and
    nothing is on its way to fix it: a change by hand the resync has not repaired yet), running
    or stopped.

    Written in SQL because the ORM took longer to build it than Postgres to run it. Each app is
    measured from its own rows (by index), never from a whole table, so a page costs the same
    with 100 apps or 100,000; one lateral join per table reads each table once per app."""
    op, status = Operation._meta.db_table, ProcessStatus._meta.db_table
    sql = f"""
        SELECT a.name, t.name AS team_name,
          CASE WHEN s.failed OR (latest.failed AND NOT active.any) THEN 'failed'
               WHEN active.any OR s.progressing THEN 'deploying'
               WHEN p.drifted THEN 'drifted'
               WHEN p.running THEN 'running'
               ELSE 'stopped' END AS state,
          d.up AS dynos_up, p.formation
        FROM ({apps_sql}) a
        JOIN {Team._meta.db_table} t ON t.id = a.team_id
        CROSS JOIN LATERAL (
          SELECT bool_or(s.state = %s) AS failed, bool_or(s.state = %s) AS progressing
          FROM {status} s WHERE s.app_id = a.id) s
        LEFT JOIN LATERAL (
          SELECT o.status = %s AS failed FROM {op} o WHERE o.app_id = a.id AND o.status <> %s
          ORDER BY o.created DESC LIMIT 1) latest ON true
        CROSS JOIN LATERAL (
          SELECT EXISTS (SELECT 1 FROM {op} o WHERE o.app_id = a.id AND o.status = ANY(%s))
          AS any) active
        CROSS JOIN LATERAL (
          SELECT bool_or(p.quantity > 0) AS running,
            bool_or(p.autoscale_min IS NULL AND ps.desired <> p.quantity) AS drifted,
            coalesce(string_agg(p.name || '=' || p.quantity, ' ' ORDER BY p.name), '')
              AS formation
          FROM {ProcessType._meta.db_table} p
          LEFT JOIN {status} ps ON ps.app_id = p.app_id AND ps.name = p.name
          WHERE p.app_id = a.id) p
        CROSS JOIN LATERAL (
          SELECT count(*) AS up FROM {Dyno._meta.db_table} d
          WHERE d.app_id = a.id AND d.state = %s) d"""
    params = [
        *apps_params,
        ProcessStatus.State.FAILED,
        ProcessStatus.State.PROGRESSING,
        Operation.Status.FAILED,
        Operation.Status.SUPERSEDED,
        [str(s) for s in Operation.ACTIVE],
        Dyno.State.UP,
    ]
    return sql, [p if isinstance(p, list) else str(p) for p in params]


class AppRows:
    """The rows of the apps list, as dicts of what it shows: name, team_name, state, dynos_up
    and formation ("web=2 worker=1"), for Django's Paginator (count and slices).

    A page is one query in raw SQL (the ORM took longer to build it than Postgres to run it):
    the page's apps are chosen first, by name, and only those are measured, each from its own
    rows. Matching states measures every visible app, as it must."""

    COLUMNS = "name, team_name, state, dynos_up, formation"

    def __init__(self, user: Any, *, query: str = "", states: Sequence[str] = ()) -> None:
        sql, params = visible_apps_sql(user)
        if query:
            # Matches the name or the team's name anywhere, case aside, the query taken literally.
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", query) + "%"
            sql = f"""SELECT * FROM ({sql}) v WHERE v.name ILIKE %s OR v.team_id IN (
                SELECT t.id FROM {Team._meta.db_table} t WHERE t.name ILIKE %s)"""
            params = [*params, pattern, pattern]
        self.apps_sql, self.apps_params = sql, params
        self.states = list(states)

    def _run(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self[0 : len(self)])

    def count(self) -> int:
        if self.states:
            sql, params = _measured(self.apps_sql, self.apps_params)
            sql, params = (
                f"SELECT count(*) FROM ({sql}) r WHERE r.state = ANY(%s)",
                [*params, self.states],
            )
        else:
            sql, params = f"SELECT count(*) FROM ({self.apps_sql}) a", self.apps_params
        return int(self._run(sql, params)[0][0])

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        window = index
        limit, offset = (window.stop or 0) - (window.start or 0), window.start or 0
        if self.states:
            sql, params = _measured(self.apps_sql, self.apps_params)
            sql = f"SELECT {self.COLUMNS} FROM ({sql}) r WHERE r.state = ANY(%s)"
            params = [*params, self.states]
        else:
            page = f"{self.apps_sql} ORDER BY name LIMIT %s OFFSET %s"
            sql, params = _measured(page, [*self.apps_params, limit, offset])
            sql, limit, offset = f"SELECT {self.COLUMNS} FROM ({sql}) r", None, 0
        sql = f"{sql} ORDER BY name LIMIT %s OFFSET %s"
        rows = self._run(sql, [*params, limit, offset])
        names = self.COLUMNS.split(", ")
        return [dict(zip(names, row, strict=True)) for row in rows]


@dataclass
class ProcessRow:
    process: ProcessType
    status: ProcessStatus | None
    dynos: list[Dyno] = field(default_factory=list)

    @property
    def wanted(self) -> int:
        if self.process.autoscaled and self.status:
            return self.status.desired
        return self.process.quantity

    @property
    def slider_max(self) -> int:
        """Room to grow without making every step a sliver: at least 10, twice the count."""
        return min(QUANTITY_MAX, max(SLIDER_MIN_MAX, 2 * self.process.quantity))

    def _percent(self, count: int) -> int:
        return round(100 * min(count, self.wanted) / self.wanted) if self.wanted else 100

    @property
    def bars(self) -> list[tuple[str, int, int]]:
        """(label, count, percent of wanted) for updated, ready and available dynos."""
        status = self.status
        counts = [(label, getattr(status, label) if status else 0) for label in BARS]
        return [(label, n, self._percent(n)) for label, n in counts]

    @property
    def failures(self) -> list[Dyno]:
        return [d for d in self.dynos if d.reason]


@dataclass
class Overview:
    app: App
    processes: list[ProcessRow]
    operations: list[Operation]
    release: Release | None
    sizes: list[DynoSize]
    activities: list[Activity]

    @property
    def settled(self) -> bool:
        """Nothing is on its way: no operation open, and every rollout has an outcome."""
        if self.operations:
            return False
        for row in self.processes:
            if row.status is None:
                if row.process.quantity:
                    return False
            elif row.status.state not in (ProcessStatus.State.COMPLETE, ProcessStatus.State.FAILED):
                return False
            moving = any(d.state in (Dyno.State.STARTING, Dyno.State.STOPPING) for d in row.dynos)
            # A dyno that cannot start (with a reason) will not settle by waiting.
            if moving and not row.failures:
                return False
        return True


def _rows(model: type[M], rows: list[dict[str, Any]] | None) -> list[M]:
    return [from_json_row(model, row) for row in rows or []]


def app_overview(app: App) -> Overview:
    """Everything the overview shows, in one round trip: each part as JSON built by Postgres
    (seven ORM queries cost three times as much, most of it building them)."""
    user = User._meta.db_table
    active = [str(s) for s in Operation.ACTIVE]
    sql = f"""SELECT
      (SELECT json_agg(s ORDER BY s.name) FROM {ProcessStatus._meta.db_table} s
       WHERE s.app_id = %(app)s),
      (SELECT json_agg(d ORDER BY d.process_type, d.number) FROM {Dyno._meta.db_table} d
       WHERE d.app_id = %(app)s),
      (SELECT json_agg(p ORDER BY p.name) FROM {ProcessType._meta.db_table} p
       WHERE p.app_id = %(app)s),
      (SELECT json_agg(json_build_object('o', o, 'by', u, 'release', r)
                       ORDER BY o.created DESC)
       FROM {Operation._meta.db_table} o LEFT JOIN {user} u ON u.id = o.created_by_id
       LEFT JOIN {Release._meta.db_table} r ON r.id = o.release_id
       WHERE o.app_id = %(app)s AND o.status = ANY(%(active)s)),
      (SELECT row_to_json(r) FROM {Release._meta.db_table} r WHERE r.app_id = %(app)s
       ORDER BY r.version DESC LIMIT 1),
      (SELECT json_agg(z ORDER BY z.position, z.name) FROM {DynoSize._meta.db_table} z),
      (SELECT json_agg(json_build_object('a', a, 'by', u) ORDER BY a.created DESC)
       FROM (SELECT * FROM {Activity._meta.db_table} WHERE app_id = %(app)s
             ORDER BY created DESC LIMIT 5) a LEFT JOIN {user} u ON u.id = a.actor_id)"""
    with connection.cursor() as cursor:
        cursor.execute(sql, {"app": app.pk, "active": active})
        statuses, dynos, processes, operations, release, sizes, activities = cursor.fetchone()
    by_size = {size.pk: size for size in _rows(DynoSize, sizes)}
    by_type: dict[str, list[Dyno]] = {}
    for dyno in _rows(Dyno, dynos):
        by_type.setdefault(dyno.process_type, []).append(dyno)
    status_of = {s.name: s for s in _rows(ProcessStatus, statuses)}
    rows = []
    for process in _rows(ProcessType, processes):
        process.size = by_size[process.size_id]
        rows.append(ProcessRow(process, status_of.get(process.name), by_type.get(process.name, [])))
    ops = []
    for found in operations or []:
        op = from_json_row(Operation, found["o"])
        op.created_by = from_json_row(User, found["by"]) if found["by"] else None
        op.release = from_json_row(Release, found["release"]) if found["release"] else None
        ops.append(op)
    recent = []
    for found in activities or []:
        activity = from_json_row(Activity, found["a"])
        activity.actor = from_json_row(User, found["by"]) if found["by"] else None
        recent.append(activity)
    return Overview(
        app=app,
        processes=rows,
        operations=ops,
        release=from_json_row(Release, release) if release else None,
        sizes=list(by_size.values()),
        activities=recent,
    )


def fleet_problems(user: Any) -> tuple[list[dict[str, Any]], list[Dyno]]:
    """Every app that is failing, drifted or stuck deploying, and every dyno that is not up
    with a reason, across all teams: what a site administrator looks at first."""
    rows = AppRows(user, states=("failed", "drifted", "deploying"))
    apps = sorted(rows, key=lambda row: (row["state"], row["name"]))
    troubled = Dyno.objects.exclude(reason="").select_related("app")
    dynos = list(troubled.order_by("app__name", "process_type", "number")[:200])
    return apps, dynos
