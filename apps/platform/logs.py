"""An app's logs, merged across its dynos with its platform events, as Heroku's logplex shows
them: the recent lines, and a live tail that follows every dyno, new ones included."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import close_old_connections

from apps.logs.events import event_text
from apps.logs.lines import LogLine, merge
from apps.platform.follows import FOLLOWS, Follow, read_lines
from apps.platform.installation import cluster
from apps.platform.models import Activity, App, Dyno
from apps.platform.validators import ascii_int

REFRESH_SECONDS = 1.0
# A tail's queue holds this many lines: a client slower than its dynos' output holds back the
# follow threads instead of filling the server's memory.
QUEUED_MAX = 2000
# A stream ends after this long: the browser reconnects by itself, and the sign-in and the
# permission are checked again; `heroku logs --tail` is started again.
STREAM_SECONDS = 3600
# Log streams one user may hold open at once: each follows every dyno of its app.
STREAMS_PER_USER = 4
FETCH_THREADS = 8


@dataclass(frozen=True)
class LogFilter:
    """Which lines to show: every dyno, one process type (`web`), or one dyno (`web.2`)."""

    process: str = ""
    dyno: str = ""

    def dynos(self, app: App) -> list[Dyno]:
        dynos = Dyno.objects.filter(app=app)
        if self.dyno:
            name, _, number = self.dyno.partition(".")
            dynos = dynos.filter(process_type=name, number=ascii_int(number) or 0)
        elif self.process:
            dynos = dynos.filter(process_type=self.process)
        return list(dynos)

    @property
    def events(self) -> bool:
        """Platform events belong to the whole app, so they show unless one dyno is chosen."""
        return not self.dyno


def _events(app: App, *, after_id: int = 0, last: int = QUEUED_MAX) -> list[tuple[int, LogLine]]:
    """The app's platform events after `after_id`: the last `last` of them, oldest first (an
    app's history grows for as long as it lives; a page shows a few hundred lines)."""
    activities = Activity.objects.filter(app=app, pk__gt=after_id).select_related("actor")
    events = []
    for a in reversed(activities.order_by("-pk")[:last]):
        actor = a.actor.get_username() if a.actor else None
        text = event_text(a.action, a.before, a.after, actor)
        events.append((a.pk, LogLine(a.created, source="paas", dyno="api", text=text)))
    return events


def recent(app: App, log_filter: LogFilter, *, lines: int = 100) -> list[LogLine]:
    """The last `lines` lines, oldest first, fetched from the dynos in parallel."""
    kube = cluster()
    dynos = log_filter.dynos(app)
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        streams = list(
            pool.map(
                lambda d: read_lines(kube, (app.namespace, d.pod_name), d.name, tail_lines=lines),
                dynos,
            )
        )
    if log_filter.events:
        streams.append([line for _, line in _events(app, last=lines)])
    return list(merge(*streams))[-lines:]


# How far back a resumed stream may ask to start: a stream's last event is seconds old, and
# Kubernetes keeps little more than a running container's log.
RESUME_MAX = timedelta(days=7)


def resume_point(text: str) -> datetime | None:
    """Where a stream resumes, from a client's Last-Event-ID (the last line's timestamp): None
    when the client sent none, or anything other than a recent time. A naive time is read as
    UTC; anything else would reach the follow threads, which compare it with aware times."""
    if not text or len(text) > 40 or not text.isascii():
        return None
    try:
        since = datetime.fromisoformat(text)
    except ValueError:
        return None
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    now = datetime.now(UTC)
    return since if now - RESUME_MAX <= since <= now + timedelta(minutes=1) else None


class Tail:
    """Follows every dyno that matches, and the app's platform events, from `since` on.

    Each dyno's log comes through its pod's follow, shared by every tail of this process
    (apps.platform.follows); the caller's loop picks up new dynos and events once a second.
    Iterating yields lines as they arrive, and None after a quiet second, so a streaming
    response can check that its client is still there. Iterated with `async for` (under
    ASGI), waiting for a line holds no thread at all."""

    def __init__(self, app: App, log_filter: LogFilter, *, since: datetime) -> None:
        self.app, self.filter, self.since = app, log_filter, since
        self.lines: queue.Queue[LogLine] = queue.Queue(maxsize=QUEUED_MAX)
        self.stop = threading.Event()
        self.followed: dict[str, Follow] = {}
        # The last line shown per pod: a line handed over twice (a follow opened again, or
        # joined late) is shown once.
        self.seen: dict[str, datetime] = {}
        self.lock = threading.Lock()
        # Lines left out because the queue was full, since when: the reader is told.
        self.dropped, self.dropped_since = 0, since
        self.kube = cluster()
        # Called after each line queued from another thread: wakes an `async for` waiting.
        self.arrived: Callable[[], None] = lambda: None
        last = Activity.objects.filter(app=app, created__lte=since).order_by("-pk").first()
        self.last_event = last.pk if last else 0

    def offer(self, pod: str, line: LogLine) -> None:
        with self.lock:
            if self.stop.is_set() or line.timestamp <= self.seen.get(pod, self.since):
                return
            self.seen[pod] = line.timestamp
            # A reader slower than the dynos' output loses lines, as Heroku's logplex drops
            # them: waiting would hold back every other tail of the same pods.
            if self.dropped and not self.lines.full():
                self.lines.put_nowait(self._dropped_notice(line.timestamp))
                self.dropped = 0
            try:
                self.lines.put_nowait(line)
            except queue.Full:
                if not self.dropped:
                    self.dropped_since = line.timestamp
                self.dropped += 1
                return
        self.arrived()

    def _dropped_notice(self, at: datetime) -> LogLine:
        since = self.dropped_since.isoformat(timespec="seconds")
        text = f"Error L10 (output buffer overflow): {self.dropped} messages dropped since {since}."
        return LogLine(at, source="paas", dyno="logplex", text=text)

    def _refresh(self) -> None:
        for dyno in self.filter.dynos(self.app):
            follow = self.followed.get(dyno.pod_name)
            # A finished one-off dyno's log was read to its end once: following it again, once
            # a second, would only open a stream that ends at once, for as long as it is kept.
            if follow is not None and (follow.alive or dyno.ended):
                continue
            since = self.seen.get(dyno.pod_name, self.since)
            key = (self.app.namespace, dyno.pod_name)
            joined = FOLLOWS.join(self.kube, key, dyno.name, self, since)
            if joined is None:
                continue
            with self.lock:  # closed meanwhile (the refresh runs beside the stream): leave
                closed = self.stop.is_set()
                if not closed:
                    self.followed[dyno.pod_name] = joined
            if closed:
                FOLLOWS.leave(joined, self)
        if self.filter.events:
            for pk, event in _events(self.app, after_id=self.last_event):
                if self.lines.full():
                    break  # this thread empties the queue: the rest come next refresh
                self.lines.put_nowait(event)
                self.last_event = pk

    def __iter__(self) -> Iterator[LogLine | None]:
        try:
            refreshed, ends = 0.0, time.monotonic() + STREAM_SECONDS
            while not self.stop.is_set() and time.monotonic() < ends:
                if time.monotonic() - refreshed >= REFRESH_SECONDS:
                    self._refresh()
                    refreshed = time.monotonic()
                try:
                    yield self.lines.get(timeout=REFRESH_SECONDS)
                except queue.Empty:
                    yield None
        finally:
            self.close()

    def _refresh_elsewhere(self) -> None:
        # In a thread of the event loop's executor, which keeps its connection between calls:
        # only a request's end would otherwise close one that is broken or too old.
        close_old_connections()
        self._refresh()

    async def __aiter__(self) -> AsyncIterator[LogLine | None]:
        loop, arrived = asyncio.get_running_loop(), asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(arrived.set)

        self.arrived = wake
        refresh = sync_to_async(self._refresh_elsewhere, thread_sensitive=False)
        try:
            refreshed, ends = 0.0, time.monotonic() + STREAM_SECONDS
            while not self.stop.is_set() and time.monotonic() < ends:
                if time.monotonic() - refreshed >= REFRESH_SECONDS:
                    await refresh()
                    refreshed = time.monotonic()
                arrived.clear()  # before looking: a line queued after this wakes the wait
                try:
                    yield self.lines.get_nowait()
                    continue
                except queue.Empty:
                    pass
                try:
                    await asyncio.wait_for(arrived.wait(), REFRESH_SECONDS)
                except TimeoutError:
                    yield None
        finally:
            self.close()

    def close(self) -> None:
        with self.lock:
            self.stop.set()
            followed = list(self.followed.values())
        for follow in followed:
            FOLLOWS.leave(follow, self)


class StreamSlot:
    """One of a user's STREAMS_PER_USER log streams, counted in the cache, which every web
    process shares. The response that holds it releases it when the server closes it."""

    REFUSED = f"{STREAMS_PER_USER} log streams are open already: end one (another tab) first."

    def __init__(self, user_id: int) -> None:
        self.key, self.held = f"paas:log-streams:{user_id}", False

    def take(self) -> bool:
        """Whether a slot was free; none is held otherwise."""
        cache.add(self.key, 0, STREAM_SECONDS + 60)  # outlives any stream: a leak heals
        self.held = True
        if cache.incr(self.key) > STREAMS_PER_USER:
            self.release()
            return False
        return True

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        with contextlib.suppress(ValueError):  # expired meanwhile
            cache.decr(self.key)
