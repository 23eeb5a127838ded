"""Celery tasks: each takes ids, fetches, and calls one reconcile function.

Temporary cluster errors are retried with backoff for as long as it takes; the periodic resync
would find the change anyway, the retry just converges sooner once the cluster is back.
"""

from __future__ import annotations

from celery import shared_task

from apps.kube.adapter import TemporaryError
from apps.platform.controller import reconcile
from apps.platform.controller import resync as resync_cycle
from apps.platform.installation import cluster
from apps.platform.locks import resync_lock

retrying_task = shared_task(
    acks_late=True,
    autoretry_for=(TemporaryError,),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=None,
)


@retrying_task
def reconcile_app(app_id: int) -> None:
    reconcile.reconcile_app(app_id, kube=cluster())


@retrying_task
def teardown_app(app_uid: str) -> None:
    reconcile.teardown(cluster(), app_uid)


@shared_task(acks_late=True)
def resync() -> None:
    with resync_lock() as held:
        if held:  # another worker is mid-cycle; this one would only repeat it
            resync_cycle.resync(cluster())
