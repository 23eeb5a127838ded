"""Reads of the desired state, shaped for their callers; a constant number of queries each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection

from apps.kube.manifests import AppSpec, HealthCheckSpec, ProcessSpec
from apps.platform import features
from apps.platform.encryption import EncryptionKeyError, unseal_all
from apps.platform.installation import installation_id
from apps.platform.json_rows import from_json_row
from apps.platform.models import (
    App,
    DynoSize,
    HealthCheck,
    ProcessType,
    RegistryCredential,
    Release,
)


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


# The desired state of an app in one row: the app, its current release (the highest version),
# its process types with their sizes and its registry logins (its team's, then its own, which
# win for the same registry), as JSON built by Postgres. One round trip and no ORM
# query compilation: it sits on the path of every change to the cluster, where the three ORM
# queries it replaces cost four times as much. Reconcile's claim embeds the same columns.
SPEC_COLUMNS = f"""
    row_to_json(a.*),
    (SELECT row_to_json(r) FROM (
        SELECT version, image, config FROM {Release._meta.db_table}
        WHERE app_id = a.id ORDER BY version DESC LIMIT 1) r),
    (SELECT coalesce(json_agg(json_build_array(row_to_json(p.*), row_to_json(s.*))
                              ORDER BY p.name), '[]'::json)
     FROM {ProcessType._meta.db_table} p JOIN {DynoSize._meta.db_table} s ON s.id = p.size_id
     WHERE p.app_id = a.id),
    (SELECT coalesce(json_agg(json_build_array(c.registry, c.username, c.password)
                              ORDER BY c.app_id NULLS FIRST, c.registry), '[]'::json)
     FROM {RegistryCredential._meta.db_table} c WHERE c.app_id = a.id OR c.team_id = a.team_id)
"""


def spec_from_row(
    columns: Sequence[Any], sizes: dict[int, DynoSize] | None = None
) -> tuple[App, AppSpec]:
    """The app and its spec from the SPEC_COLUMNS of one row; `sizes` shares each dyno size's
    instance across the rows of one read."""
    app_row, release, processes, logins = columns
    app = from_json_row(App, app_row)
    process_types = []
    sizes = {} if sizes is None else sizes
    for process_row, size_row in processes:
        process = from_json_row(ProcessType, process_row)
        if size_row["id"] not in sizes:
            sizes[size_row["id"]] = from_json_row(DynoSize, size_row)
        process.size = sizes[size_row["id"]]
        process_types.append(process)
    config, unreadable = {}, ""
    try:
        config = unseal_all(app, release["config"]) if release else {}
    except EncryptionKeyError as error:  # one app's, never the others' cycle
        unreadable = f"Config values cannot be read: {error}"
    return app, AppSpec(
        name=app.name,
        uid=str(app.uid),
        namespace=app.namespace,
        release=release["version"] if release else 0,
        image=release["image"] if release else "",
        config=config,
        unreadable=unreadable,
        processes=tuple(_process_spec(p) for p in process_types),
        maintenance=app.maintenance,
        installation=installation_id(),
        access=tuple(settings.NAMESPACE_ACCESS),
        node_selector=tuple(sorted(settings.APP_NODE_SELECTOR.items())),
        tolerations=tuple(
            (t["key"], t["operator"], t.get("value", ""), t["effect"])
            for t in settings.APP_TOLERATIONS
        ),
        rollout_timeout=settings.ROLLOUT_TIMEOUT_SECONDS,
        registries=tuple(sorted((r, u, p) for r, (u, p) in _by_registry(logins).items())),
        preboot=features.enabled(app.features, features.PREBOOT),
        dyno_metadata=features.enabled(app.features, features.DYNO_METADATA),
        restricted=features.enabled(app.features, features.RESTRICTED),
    )


def _by_registry(logins: list[list[str]]) -> dict[str, tuple[str, str]]:
    """One login per registry: the app's own comes after its team's, and so replaces it."""
    return {registry: (username, password) for registry, username, password in logins}


def app_specs(app_ids: Iterable[int] | None = None) -> dict[int, tuple[App, AppSpec]]:
    """Each app with its desired state as a manifest spec, in one query whatever the count."""
    sql = f"SELECT {SPEC_COLUMNS} FROM {App._meta.db_table} a"
    params: list[Any] = []
    if app_ids is not None:
        sql, params = f"{sql} WHERE a.id = ANY(%s)", [list(app_ids)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        sizes: dict[int, DynoSize] = {}
        specs = [spec_from_row(row, sizes) for row in cursor.fetchall()]
    return {app.pk: (app, spec) for app, spec in specs}
