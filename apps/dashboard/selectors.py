"""Reads shaped for the dashboard's pages, each in a constant number of queries however many apps,
process types or dynos there are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

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


def _annotated(apps: QuerySet[App]) -> QuerySet[App]:
    """Each app's state at a glance, computed by the database in the same query as the list."""
    active = Operation.objects.filter(app=OuterRef("pk"), status__in=Operation.ACTIVE)
    last_outcome = (
        Operation.objects.filter(app=OuterRef("pk"))
        .exclude(status=Operation.Status.SUPERSEDED)
        .order_by("-created")
        .values("status")[:1]
    )
    observed_desired = ProcessStatus.objects.filter(
        app=OuterRef("app"), name=OuterRef("name")
    ).values("desired")[:1]
    # The cluster holds another count than the records, and nothing is on its way to fix it:
    # someone changed it by hand and the resync has not repaired it yet.
    drifted = (
        ProcessType.objects.filter(app=OuterRef("pk"), autoscale_min__isnull=True)
        .annotate(observed=Subquery(observed_desired))
        .filter(observed__isnull=False)
        .exclude(observed=F("quantity"))
    )
    dynos_up = (
        Dyno.objects.filter(app=OuterRef("pk"), state=Dyno.State.UP)
        .order_by()
        .values("app")
        .annotate(n=Count("pk"))
        .values("n")
    )
    failed = Exists(
        ProcessStatus.objects.filter(app=OuterRef("pk"), state=ProcessStatus.State.FAILED)
    ) | (Q(last_outcome=Operation.Status.FAILED) & ~Exists(active))
    deploying = Exists(active) | Exists(
        ProcessStatus.objects.filter(app=OuterRef("pk"), state=ProcessStatus.State.PROGRESSING)
    )
    wanted = Exists(ProcessType.objects.filter(app=OuterRef("pk"), quantity__gt=0))
    return apps.annotate(
        last_outcome=Subquery(last_outcome),
        dynos_up=Coalesce(Subquery(dynos_up, output_field=IntegerField()), 0),
    ).annotate(
        state=Case(
            When(failed, then=Value("failed")),
            When(deploying, then=Value("deploying")),
            When(Exists(drifted), then=Value("drifted")),
            When(wanted, then=Value("running")),
            default=Value("stopped"),
        )
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
