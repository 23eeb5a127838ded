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


def test_a_follow_that_ends_at_once_is_opened_again_after_growing_pauses(app):
    """Every tail opened such a follow again every second: eight tails of an app of fifty
    dynos on a node that took no more streams opened hundreds a second."""
    Dyno.objects.create(
        app=app,
        process_type="web",
        number=1,
        pod_name="web-gone",  # no such pod: its log cannot be opened
        pod_uid="uid-gone",
        state=Dyno.State.UP,
        created=timezone.now(),
    )
    tail = Tail(app, LogFilter(), since=timezone.now())
    pauses = []
    try:
        for _ in range(5):
            tail._refresh()
            thread = tail.followed["web-gone"]
            thread.join(timeout=30)
            tail._refresh()
            assert tail.followed["web-gone"] is thread  # not before its pause is over
            _, pause = tail.retry["web-gone"]
            pauses.append(pause)
            tail.retry["web-gone"] = (0.0, pause)  # as if the pause were over
    finally:
        tail.close()
    assert pauses == [1.0, 2.0, 4.0, 8.0, 8.0]
