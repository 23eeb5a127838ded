"""A log tail shows each dyno's log through its pod's follow stream, one per process for every
tail that shows the pod, opened again when it ends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from kubernetes import client

from apps.logs.lines import LogLine
from apps.platform import logs
from apps.platform.follows import Follow, Follows
from apps.platform.logs import LogFilter, Tail
from apps.platform.models import Dyno
from tests.cluster.test_local_cluster import make_deployment, wait_for_ready_pods
from tests.helpers import wait_until
from tests.kwok import append_log_line, attach_log_file

pytestmark = pytest.mark.django_db


class Shown:
    """A subscriber that keeps what it is shown, once per line, as a tail does."""

    def __init__(self, since: datetime) -> None:
        self.since, self.lines, self.lock = since, list[str](), threading.Lock()

    def offer(self, pod: str, line: LogLine) -> None:
        with self.lock:
            if line.timestamp > self.since:
                self.since = line.timestamp
                self.lines.append(line.text)


def _ended(key: tuple[str, str]) -> Follow:
    follow = Follow(key, "run.1", timezone.now())
    follow.stop.set()
    return follow


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
        followed = {name: _ended((app.namespace, name)) for name in ("run-7", "run-8")}
        tail.followed.update(followed)
        tail._refresh()
        assert tail.followed["run-7"] is followed["run-7"]  # read to its end already
        assert tail.followed["run-8"] is not followed["run-8"]  # its stream broke: again
    finally:
        tail.close()


def test_a_follow_that_ends_at_once_is_opened_again_after_growing_pauses(kube, namespace):
    """Every tail opened such a follow again every second: eight tails of an app of fifty
    dynos on a node that took no more streams opened hundreds a second."""
    follows, key = Follows(), (namespace, "web-gone")  # no such pod: its log cannot be opened
    pauses = []
    for _ in range(5):
        follow = follows.join(kube, key, "web.1", Shown(timezone.now()), timezone.now())
        assert follow is not None
        follow.stop.wait(timeout=30)
        wait_until(lambda: key in follows.retry and key not in follows.open, what="the end")
        assert follows.join(kube, key, "web.1", Shown(timezone.now()), timezone.now()) is None
        _, pause = follows.retry[key]
        pauses.append(pause)
        follows.retry[key] = (0.0, pause)  # as if the pause were over
    assert pauses == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_tails_of_one_pod_share_its_follow_and_each_sees_every_line_once(
    kube_api, kube, namespace, pod_logs_dir: Path
):
    """Each tail opened a follow of each dyno of its own: eight tabs on fifty dynos held four
    hundred streams to the kubelets."""
    client.AppsV1Api(kube_api).create_namespaced_deployment(namespace, make_deployment("web", 1))
    core = client.CoreV1Api(kube_api)
    pod = wait_for_ready_pods(core, namespace, "web", 1)[0].metadata.name
    log_file = pod_logs_dir / f"{namespace}-{pod}.log"
    attach_log_file(kube_api, namespace, pod, log_file)
    follows, key = Follows(), (namespace, pod)
    start = datetime.now(UTC) - timedelta(minutes=1)
    append_log_line(log_file, "one")

    # kwok serves the file once it has read the Logs object; a stream opened before that
    # would follow another file for as long as it lasts.
    wait_until(lambda: any("one" in line for line in kube.pod_log(*key)), what="kwok's file")
    first = Shown(start)
    follow = follows.join(kube, key, "web.1", first, start)
    assert follow is not None
    wait_until(lambda: first.lines == ["one"], what="the first line")
    opened = kube.requests[("log", "Pod")]

    # A second tail of the same pod, from the same point: the lines kept, then the new ones.
    second = Shown(start)
    assert follows.join(kube, key, "web.1", second, start) is follow
    append_log_line(log_file, "two")
    wait_until(lambda: first.lines[-1:] == second.lines[-1:] == ["two"], what="two for both")
    assert kube.requests[("log", "Pod")] == opened  # no stream more

    # One that starts before what the stream read is handed the earlier lines by one read.
    earlier = Shown(start - timedelta(minutes=1))
    assert follows.join(kube, key, "web.1", earlier, earlier.since) is follow
    assert kube.requests[("log", "Pod")] == opened + 1
    append_log_line(log_file, "three")
    wait_until(lambda: earlier.lines[-1:] == ["three"], what="three")
    for shown in (first, second, earlier):
        assert shown.lines == ["one", "two", "three"]

    for shown in (first, second):
        follows.leave(follow, shown)
    assert follow.alive
    follows.leave(follow, earlier)
    assert not follow.alive
    assert key not in follows.open


def test_a_reader_slower_than_the_output_loses_lines_and_is_told_how_many(app, monkeypatch):
    monkeypatch.setattr(logs, "QUEUED_MAX", 2)
    since = timezone.now()
    tail = Tail(app, LogFilter(), since=since)
    try:
        for n in range(1, 6):
            tail.offer("web-1", LogLine(since + timedelta(seconds=n), "app", "web.1", f"l{n}"))
        assert [tail.lines.get_nowait().text for _ in range(2)] == ["l1", "l2"]
        tail.offer("web-1", LogLine(since + timedelta(seconds=9), "app", "web.1", "l9"))
        notice, line = tail.lines.get_nowait(), tail.lines.get_nowait()
    finally:
        tail.close()
    assert notice.text == (
        "Error L10 (output buffer overflow): 3 messages dropped since"
        f" {(since + timedelta(seconds=3)).isoformat(timespec='seconds')}."
    )
    assert (notice.source, notice.dyno, line.text) == ("paas", "logplex", "l9")
