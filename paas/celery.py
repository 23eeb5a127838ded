from __future__ import annotations

import os
import sys

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paas.settings")

app = Celery("paas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def worker_command(hostname: str, *extra: str) -> list[str]:
    """A worker as the Procfile runs it, under a hostname that the tests and the benchmarks
    ping until it answers; gossip and mingle off, so it starts in a second."""
    return [
        *(sys.executable, "-m", "celery", "-A", "paas", "worker", "--loglevel", "INFO"),
        *("--concurrency", "2", "--hostname", hostname, "--without-gossip", "--without-mingle"),
        *extra,
    ]
