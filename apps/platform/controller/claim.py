"""Claiming an app's waiting operations: under the app's lock, in one statement with the desired
state they were committed with, so one run carries every change waiting when it starts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from django.db import connection
from django.utils import timezone

from apps.kube.manifests import ONE_OFF, AppSpec, ProcessSpec, RunSpec
from apps.platform.controller.desired import SPEC_COLUMNS, spec_from_row
from apps.platform.encryption import unseal_all
from apps.platform.locks import APP_LOCK_SPACE, app_unlock
from apps.platform.models import App, DynoSize, Operation


def superseded(waiting: list[Claimed]) -> list[int]:
    """A run applies the records as they stand, so of the changes of state it carries, the newest
    stands for them all and the older ones end superseded: they never queue behind each other.
    A dyno restart or a one-off dyno is an action, not a state: each is carried out."""
    states = sorted(c.id for c in waiting if not c.pods and not c.run)
    return states[:-1]


def finish(ids: list[int], status: str, error: str = "") -> None:
    Operation.objects.filter(pk__in=ids).update(
        status=status, error=error, finished=timezone.now(), updated=timezone.now()
    )


# Takes the app's lock and, only if it got it, claims the waiting operations (marks them
# applying) and reads the app's desired state, in one statement: all three sit on the path of
# every change to the cluster. One statement is one snapshot, so every operation claimed was
# committed with the records read alongside it.
_LOCK_CLAIM_AND_READ = f"""
WITH lock AS MATERIALIZED (SELECT pg_try_advisory_lock(%(space)s, %(app)s) AS held),
claimed AS (
    UPDATE {Operation._meta.db_table} SET status = %(applying)s, error = '', updated = now()
    WHERE app_id = %(app)s AND status IN (%(queued)s, %(applying)s) AND (SELECT held FROM lock)
    RETURNING id, pods, run
)
SELECT (SELECT held FROM lock),
       (SELECT coalesce(json_agg(json_build_array(id, pods, run)), '[]'::json) FROM claimed),
       (SELECT json_build_array({SPEC_COLUMNS}) FROM {App._meta.db_table} a
        WHERE a.id = %(app)s AND (SELECT held FROM lock))
"""


class Claimed(NamedTuple):
    id: int
    pods: list[str]
    run: dict[str, Any]


class Claim(NamedTuple):
    operations: list[Claimed]
    found: tuple[App, AppSpec] | None  # None when the app was destroyed meanwhile


def run_spec(run: dict[str, Any], app: App) -> RunSpec:
    size = DynoSize.objects.filter(name=run["size"]).first() or DynoSize.objects.first()
    assert size is not None
    command = f"sleep {run.get('ttl', 3600)}" if run.get("attach") else run["command"]
    process = ProcessSpec(
        name=ONE_OFF,
        command=command,
        quantity=1,
        cpu_request_millicores=size.cpu_request_millicores,
        cpu_limit_millicores=size.cpu_limit_millicores,
        memory_request_mib=size.memory_request_mib,
        memory_limit_mib=size.memory_limit_mib,
    )
    return RunSpec(
        name=run["name"],
        number=run["number"],
        command=run["command"],
        process=process,
        env=tuple(sorted(unseal_all(app, run.get("env", {})).items())),
        ttl=run.get("ttl", 3600),
    )


@contextmanager
def claimed(app_id: int) -> Iterator[Claim | None]:
    """Yields the operations this run carries, with the records as they stood when they were
    claimed, or None when another run holds the app. Under the lock an operation still applying
    was left by a run that died: it is taken over, not left stuck."""
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCK_CLAIM_AND_READ,
            {
                "space": APP_LOCK_SPACE,
                "app": app_id,
                "queued": Operation.Status.QUEUED,
                "applying": Operation.Status.APPLYING,
            },
        )
        held, claimed, spec_row = cursor.fetchone()
    if not held:
        yield None
        return
    try:
        yield Claim(
            [Claimed(pk, pods, run) for pk, pods, run in claimed],
            spec_from_row(spec_row) if spec_row else None,
        )
    finally:
        app_unlock(app_id)
