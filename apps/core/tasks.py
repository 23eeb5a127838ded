from __future__ import annotations

from celery import shared_task

from apps.core.heartbeat import heartbeat_record


@shared_task(ignore_result=False)
def heartbeat() -> float:
    return heartbeat_record()
