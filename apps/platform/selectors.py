"""Reads of the desired state, shaped for their callers; a constant number of queries each."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch

from apps.kube.manifests import AppSpec, HealthCheckSpec, ProcessSpec
from apps.platform.models import App, HealthCheck, ProcessType, Release


def _process_spec(process: ProcessType) -> ProcessSpec:
    healthcheck = None
    if process.healthcheck != HealthCheck.NONE:
        healthcheck = HealthCheckSpec(
            kind=process.healthcheck,
            path=process.healthcheck_path,
            command=process.healthcheck_command,
            initial_delay=process.healthcheck_initial_delay,
            timeout=process.healthcheck_timeout,
        )
    autoscale = None
    if process.autoscale_min is not None and process.autoscale_max is not None:
        autoscale = (process.autoscale_min, process.autoscale_max, process.autoscale_cpu_percent)
    size = process.size
    return ProcessSpec(
        name=process.name,
        command=process.command,
        quantity=process.quantity,
        cpu_request_millicores=size.cpu_request_millicores,
        cpu_limit_millicores=size.cpu_limit_millicores,
        memory_request_mib=size.memory_request_mib,
        memory_limit_mib=size.memory_limit_mib,
        autoscale=autoscale,
        healthcheck=healthcheck,
        max_surge=process.max_surge,
        max_unavailable=process.max_unavailable,
        restarted_at=process.restarted_at.isoformat() if process.restarted_at else "",
    )


def app_specs(app_ids: Iterable[int] | None = None) -> dict[int, tuple[App, AppSpec]]:
    """Each app with its desired state as a manifest spec, in three queries whatever the count."""
    apps = App.objects.prefetch_related(
        Prefetch("process_types", queryset=ProcessType.objects.select_related("size"))
    )
    if app_ids is not None:
        apps = apps.filter(pk__in=list(app_ids))
    # The current release of each app, the highest version, in one query (DISTINCT ON). Cheaper
    # to build than subqueries annotated on the apps, which matters on every change's path.
    latest = {
        r.app_id: r
        for r in Release.objects.filter(app__in=apps)
        .order_by("app_id", "-version")
        .distinct("app_id")
        .only("app_id", "version", "image", "config")
    }
    specs: dict[int, tuple[App, AppSpec]] = {}
    for app in apps:
        release = latest.get(app.pk)
        specs[app.pk] = (
            app,
            AppSpec(
                name=app.name,
                uid=str(app.uid),
                namespace=app.namespace,
                release=release.version if release else 0,
                image=release.image if release else "",
                config=release.config if release else {},
                processes=tuple(_process_spec(p) for p in app.process_types.all()),
                maintenance=app.maintenance,
            ),
        )
    return specs
