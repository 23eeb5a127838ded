"""Reads shaped for the dashboard's pages, each in a constant number of queries however many apps,
process types or dynos there are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, IntegerField, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL

from apps.platform.models import (
    Activity,
    App,
    Dyno,
    DynoSize,
    Operation,
    ProcessStatus,
    ProcessType,
    Release,
)
from apps.platform.permissions import visible_apps
from apps.platform.validators import QUANTITY_MAX

BARS = ("updated", "ready", "available")
SLIDER_MIN_MAX = 10
APP_STATES = ("failed", "deploying", "drifted", "running", "stopped")


def _state_sql() -> tuple[str, list[str]]:
    """Each app's state at a glance as one SQL expression on the app row. It is written in SQL
    because the same Case of Exists subqueries built with the ORM cost 17 ms per request just to
    resolve, more than the database took to run it."""
    app, op = App._meta.db_table, Operation._meta.db_table
    status, process = ProcessStatus._meta.db_table, ProcessType._meta.db_table
    active = f"EXISTS (SELECT 1 FROM {op} o WHERE o.app_id = {app}.id AND o.status IN (%s, %s, %s))"
    sql = f"""CASE
      WHEN EXISTS (SELECT 1 FROM {status} s WHERE s.app_id = {app}.id AND s.state = %s)
        OR ((SELECT o.status FROM {op} o WHERE o.app_id = {app}.id AND o.status <> %s
             ORDER BY o.created DESC LIMIT 1) = %s AND NOT {active})
        THEN 'failed'
      WHEN {active}
        OR EXISTS (SELECT 1 FROM {status} s WHERE s.app_id = {app}.id AND s.state = %s)
        THEN 'deploying'
      WHEN EXISTS (SELECT 1 FROM {process} p JOIN {status} s
                   ON s.app_id = p.app_id AND s.name = p.name
                   WHERE p.app_id = {app}.id AND p.autoscale_min IS NULL
                   AND s.desired <> p.quantity)
        THEN 'drifted'
      WHEN EXISTS (SELECT 1 FROM {process} p WHERE p.app_id = {app}.id AND p.quantity > 0)
        THEN 'running'
      ELSE 'stopped' END"""
    active_values = [str(s) for s in Operation.ACTIVE]
    params = [
        ProcessStatus.State.FAILED,
        Operation.Status.SUPERSEDED,
        Operation.Status.FAILED,
        *active_values,
        *active_values,
        ProcessStatus.State.PROGRESSING,
    ]
    return sql, [str(p) for p in params]


def _annotated(apps: QuerySet[App]) -> QuerySet[App]:
    """Adds `state`: failed, deploying, drifted (the cluster holds another count than the
    records and nothing is on its way to fix it: a change by hand the resync has not repaired
    yet), running or stopped; and `dynos_up`."""
    dyno = Dyno._meta.db_table
    up = f"SELECT count(*) FROM {dyno} d WHERE d.app_id = {App._meta.db_table}.id AND d.state = %s"
    return apps.annotate(
        state=RawSQL(*_state_sql(), output_field=CharField()),
        dynos_up=RawSQL(up, [str(Dyno.State.UP)], output_field=IntegerField()),
    )


def app_list(user: Any, *, query: str = "", state: str = "") -> QuerySet[App]:
    """The apps a user can see, each with its `state` and `dynos_up`; its process types are
    fetched in one more query for whichever page is shown."""
    apps = visible_apps(user).select_related("team").order_by("name")
    if query:
        apps = apps.filter(Q(name__icontains=query) | Q(team__name__icontains=query))
    apps = _annotated(apps).prefetch_related(
        Prefetch("process_types", ProcessType.objects.order_by("name"))
    )
    return apps.filter(Q(state=state)) if state else apps


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


def app_overview(app: App) -> Overview:
    statuses = {s.name: s for s in app.process_statuses.all()}
    dynos: dict[str, list[Dyno]] = {}
    for dyno in app.dynos.all():
        dynos.setdefault(dyno.process_type, []).append(dyno)
    processes = [
        ProcessRow(p, statuses.get(p.name), dynos.get(p.name, []))
        for p in app.process_types.select_related("size").order_by("name")
    ]
    operations = list(
        app.operations.filter(status__in=Operation.ACTIVE).select_related("created_by", "release")
    )
    return Overview(
        app=app,
        processes=processes,
        operations=operations,
        release=app.releases.order_by("-version").first(),
        sizes=list(DynoSize.objects.all()),
        activities=list(app.activities.select_related("actor").order_by("-created")[:5]),
    )


def fleet_problems() -> tuple[list[App], list[Dyno]]:
    """Every app that is failing, drifted or stuck deploying, and every dyno that is not up
    with a reason, across all teams: what a site administrator looks at first."""
    apps = list(
        _annotated(App.objects.select_related("team"))
        .filter(Q(state__in=("failed", "drifted", "deploying")))
        .order_by("state", "name")
    )
    troubled = Dyno.objects.exclude(reason="").select_related("app")
    dynos = list(troubled.order_by("app__name", "process_type", "number")[:200])
    return apps, dynos
