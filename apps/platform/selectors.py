"""Reads of the desired state, shaped for their callers; a constant number of queries each."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import OuterRef, Prefetch, Subquery

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
    """Each app with its desired state as a manifest spec, in two queries whatever the count."""
    # The current release (the highest version) comes with each app, as subqueries of the
    # same statement: no round trip of its own.
    latest = Release.objects.filter(app=OuterRef("pk")).order_by("-version")
    apps = App.objects.prefetch_related(
        Prefetch("process_types", queryset=ProcessType.objects.select_related("size"))
    ).annotate(
        release_version=Subquery(latest.values("version")[:1]),
        release_image=Subquery(latest.values("image")[:1]),
        release_config=Subquery(latest.values("config")[:1]),
    )
    if app_ids is not None:
        apps = apps.filter(pk__in=list(app_ids))
    specs: dict[int, tuple[App, AppSpec]] = {}
    for app in apps:
        specs[app.pk] = (
            app,
            AppSpec(
                name=app.name,
                uid=str(app.uid),
                namespace=app.namespace,
                release=app.release_version or 0,
                image=app.release_image or "",
                config=app.release_config or {},
                processes=tuple(_process_spec(p) for p in app.process_types.all()),
            ),
        )
    return specs
