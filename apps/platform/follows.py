"""Each pod's log followed once per process, however many log tails show it.

A tail (apps.platform.logs) joins the pods it shows. The first one opens the pod's follow stream;
one that joins later is handed what the stream read since the tail's own starting point, then
every new line. When the last one leaves, the stream is closed. So eight tabs on an app of fifty
dynos hold fifty streams to the kubelets instead of four hundred, and a tab that reads slowly
loses lines of its own instead of holding back the others.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apps.kube.adapter import Cluster, ClusterError
from apps.logs.lines import LogLine, parse_kube_line

# Lines kept per pod for a tail that joins a stream already open.
KEPT = 500
# A follow that ends at once (a pod not started yet, a node that takes no more streams) is
# opened again after a pause that doubles from a second up to this, not at every refresh.
RETRY_MAX = 8.0
# What one read of a pod's past lines may weigh (the kubelet's limitBytes): a few lines can be
# huge.
READ_BYTES = 1 << 20

Key = tuple[str, str]  # namespace, pod


class Subscriber(Protocol):
    def offer(self, pod: str, line: LogLine) -> None:
        """Takes a line of the pod, without waiting; a line seen already is left out."""


class Follow:
    """One pod's follow stream: what it read lately, and who is shown its lines."""

    def __init__(self, key: Key, dyno: str, since: datetime) -> None:
        self.key, self.dyno, self.since = key, dyno, since
        self.recent: deque[LogLine] = deque(maxlen=KEPT)
        self.subscribers: set[Subscriber] = set()
        self.stop = threading.Event()  # set once it ends, or once no one is shown its lines

    @property
    def alive(self) -> bool:
        return not self.stop.is_set()

    def covers(self, since: datetime) -> bool:
        """Whether every line after `since` was read and is still kept."""
        if len(self.recent) == KEPT:
            return since >= self.recent[0].timestamp
        return since >= self.since


def _since_time(since: datetime) -> str:
    return (since - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")  # whole seconds


def read_lines(
    kube: Cluster,
    key: Key,
    dyno: str,
    *,
    tail_lines: int | None = None,
    since: datetime | None = None,
) -> list[LogLine]:
    """The pod's past lines, at most READ_BYTES of them; none from a pod that is gone, or not
    started."""
    since_time = _since_time(since) if since else None
    try:
        raw = list(
            kube.pod_log(*key, tail_lines=tail_lines, since_time=since_time, limit_bytes=READ_BYTES)
        )
    except ClusterError:
        return []
    now = datetime.now(UTC)
    return [parse_kube_line(line, dyno=dyno, fallback=now) for line in raw if line]


class Follows:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: dict[Key, Follow] = {}
        # Per pod whose follow ended by itself: when it may be opened again, and the pause.
        self.retry: dict[Key, tuple[float, float]] = {}

    def join(
        self,
        kube: Cluster,
        key: Key,
        dyno: str,
        subscriber: Subscriber,
        since: datetime,
    ) -> Follow | None:
        """Shows the pod's lines after `since` to the subscriber, through the pod's follow,
        opened if it was not; None while a follow that ended by itself waits for its pause."""
        with self.lock:
            follow = self.open.get(key)
            late = follow is not None and not follow.covers(since)
        # Read before joining, and handed over first: lines come in their order.
        earlier = read_lines(kube, key, dyno, since=since) if late else []
        with self.lock:
            follow = self.open.get(key)
            if follow is None:
                if time.monotonic() < self.retry.get(key, (0.0, 0.0))[0]:
                    return None
                follow = self.open[key] = Follow(key, dyno, since)
                threading.Thread(target=self._run, args=(kube, follow), daemon=True).start()
            for line in [*earlier, *follow.recent]:
                subscriber.offer(key[1], line)
            follow.subscribers.add(subscriber)
            return follow

    def leave(self, follow: Follow, subscriber: Subscriber) -> None:
        with self.lock:
            follow.subscribers.discard(subscriber)
            if not follow.subscribers:
                follow.stop.set()  # shuts its stream
                if self.open.get(follow.key) is follow:
                    del self.open[follow.key]

    def _run(self, kube: Cluster, follow: Follow) -> None:
        last, opened = follow.since, time.monotonic()
        try:
            for raw in kube.pod_log(
                *follow.key, follow=True, stop=follow.stop, since_time=_since_time(last)
            ):
                line = parse_kube_line(raw, dyno=follow.dyno, fallback=datetime.now(UTC))
                if not raw or line.timestamp <= last:
                    continue  # the second before `since` comes again, as sinceTime is whole
                last = line.timestamp
                with self.lock:
                    follow.recent.append(line)
                    subscribers = list(follow.subscribers)
                for subscriber in subscribers:
                    subscriber.offer(follow.key[1], line)
        except ClusterError:
            pass  # the pod is gone or not started: a tail's refresh opens it again
        finally:
            with self.lock:
                if self.open.get(follow.key) is follow:
                    del self.open[follow.key]
                if follow.alive:  # it ended by itself, not because no one is shown it
                    ended = time.monotonic()
                    _, pause = self.retry.get(follow.key, (0.0, 0.5))
                    pause = min(pause * 2, RETRY_MAX) if ended - opened < RETRY_MAX else 1.0
                    self.retry[follow.key] = (ended + pause, pause)
                follow.stop.set()


FOLLOWS = Follows()
