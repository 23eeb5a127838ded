"""Logs: the recent lines rendered with the page (it works without JavaScript), then a live tail
over Server-Sent Events that appends each line as it is written."""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from apps.core.event_stream import TailStream, streams
from apps.dashboard.views.common import Request, app_view, page
from apps.logs.lines import LogLine
from apps.platform.logs import (
    LogFilter,
    StreamSlot,
    Tail,
    recent,
    resume_point,
)
from apps.platform.models import App

RECENT_LINES = 200


def _filter(request: Request, app: App) -> LogFilter:
    names = set(app.process_types.values_list("name", flat=True))
    process = request.GET.get("process", "")
    dyno = request.GET.get("dyno", "")[:40].replace("\x00", "")  # Postgres takes no NUL
    return LogFilter(process=process if process in names else "", dyno=dyno)


@require_GET
@app_view
def logs(request: Request, app: App) -> HttpResponse:
    log_filter = _filter(request, app)
    lines = recent(app, log_filter, lines=RECENT_LINES)
    since = lines[-1].timestamp if lines else datetime.now(UTC)
    context = {
        "app": app,
        "lines": lines,
        "filter": log_filter,
        "since": since.isoformat(),
        "processes": app.process_types.order_by("name").values_list("name", flat=True),
        # Each name once: mid-rollout the new web.1 and the old one share it.
        "dynos": app.dynos.order_by("process_type", "number").distinct("process_type", "number"),
    }
    return page(request, "dashboard/app_logs.html", context)


def _event(line: LogLine) -> str:
    html = render_to_string("dashboard/log_line.html", {"line": line})
    data = "".join(f"data: {part}\n" for part in html.strip().split("\n"))
    return f"id: {line.timestamp.isoformat()}\n{data}\n"


def _since(request: Request) -> datetime:
    text = request.headers.get("Last-Event-ID") or request.GET.get("since", "")
    return resume_point(text) or datetime.now(UTC)


@streams
@require_GET
@app_view
def stream(request: Request, app: App) -> HttpResponseBase:
    tail, slot = (
        Tail(app, _filter(request, app), since=_since(request)),
        StreamSlot(request.user.pk),
    )
    if not slot.take():
        return HttpResponse(StreamSlot.REFUSED, status=429, content_type="text/plain")
    return TailStream(request, slot, tail, render=_event, head=["retry: 2000\n\n"])
