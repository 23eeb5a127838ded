"""A log tail follows each dyno's log in a thread of its own, started again when it ends."""

from __future__ import annotations

import threading

import pytest
from django.utils import timezone

from apps.platform.logs import LogFilter, Tail
from apps.platform.models import Dyno

pytestmark = pytest.mark.django_db


def _ended_thread() -> threading.Thread:
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    return thread


def test_a_finished_one_off_dyno_is_not_followed_again_and_a_running_one_is(app):
    """Every tail started a thread a second for a finished one-off dyno, whose log stream ends
    as soon as it is opened, for as long as its pod was kept."""
    now = timezone.now()
    for number, ended in ((7, now), (8, None)):
        Dyno.objects.create(
            app=app,
            process_type="run",
            number=number,
            pod_name=f"run-{number}",
            pod_uid=f"uid-{number}",
            state=Dyno.State.STARTING,
            created=now,
            ended=ended,
        )
    tail = Tail(app, LogFilter(), since=now)
    try:
        followed = {name: _ended_thread() for name in ("run-7", "run-8")}
        tail.followed.update(followed)
        tail._refresh()
        assert tail.followed["run-7"] is followed["run-7"]  # read to its end already
        assert tail.followed["run-8"] is not followed["run-8"]  # its stream broke: again
    finally:
        tail.close()
