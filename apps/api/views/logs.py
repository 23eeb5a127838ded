"""Log sessions: POST returns a signed `logplex_url`; GETting it streams the app's log as
Server-Sent Events, one line per event in Heroku's format, and keeps following with `tail`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse

from apps.api.errors import ApiError, invalid
from apps.api.http import ApiRequest, api_view, respond
from apps.api.views.common import find_app
from apps.core.event_stream import TailStream, streams
from apps.logs.lines import LogLine, heroku_format
from apps.platform.logs import (
    LogFilter,
    StreamSlot,
    Tail,
    recent,
    resume_point,
)
from apps.platform.models import App
from apps.platform.permissions import app_for

SALT = "paas.log-session"
# The URL is a bearer credential without the token: it is good for a short while only.
SESSION_SECONDS = 300
LINES_MAX = 1500


@api_view("POST")
def log_sessions(request: ApiRequest, app: str) -> Any:
    found = find_app(request.user, app)
    data = request.data
    lines = data.get("lines", 100)
    if isinstance(lines, bool) or not isinstance(lines, int) or not 0 <= lines <= LINES_MAX:
        raise invalid(f"lines must be a number from 0 to {LINES_MAX}.")
    dyno = data.get("dyno") or data.get("dyno_name") or data.get("type") or ""
    source = data.get("source") or ""
    if not isinstance(dyno, str) or not isinstance(source, str):
        raise invalid("dyno and source must be strings.")
    if "\x00" in dyno + source:
        raise invalid("dyno and source must not hold a NUL character.")
    session = {
        "app": found.pk,
        "dyno": dyno[:40],
        "source": source[:10],
        "lines": lines,
        "tail": bool(data.get("tail")),
        "user": request.user.pk,
    }
    signed = signing.dumps(session, salt=SALT, compress=True)
    # The stream is fetched without the API's media type, so it lives under /api/ in the site's
    # own URLs, not in whichever URLs this request was routed by.
    path = reverse("api-log-stream", args=[signed], urlconf=settings.ROOT_URLCONF)
    url = request.build_absolute_uri(path)
    now = datetime.now(UTC).isoformat()
    body = {"id": str(uuid.uuid4()), "logplex_url": url, "created_at": now, "updated_at": now}
    return respond(body, status=201)


def _event(line: LogLine) -> str:
    return f"id: {line.timestamp.isoformat()}\ndata: {heroku_format(line)}\n\n"


@streams
def log_stream(request: HttpRequest, session: str) -> HttpResponseBase:
    try:
        data = signing.loads(session, salt=SALT, max_age=SESSION_SECONDS)
    except signing.BadSignature:
        return ApiError(404, "not_found", "This log session has expired or is invalid.").response()
    # The URL is the user's, for a while: whoever holds it still needs access to the app.
    user = User.objects.filter(pk=data["user"], is_active=True).first()
    app = App.objects.filter(pk=data["app"]).first()
    try:
        app = app_for(user, app.name) if user and app else None
    except Http404:
        app = None
    if app is None or user is None:
        return ApiError(404, "not_found", "Couldn't find that app.").response()
    dyno, only_app = data["dyno"], data["source"] == "app"
    log_filter = LogFilter(dyno=dyno) if "." in dyno else LogFilter(process=dyno)
    shown = recent(app, log_filter, lines=data["lines"]) if data["lines"] else []
    shown = [line for line in shown if line.source == "app" or not only_app]
    if not data["tail"]:
        body = "".join(_event(line) for line in shown)
        return HttpResponse(body, content_type="text/event-stream")
    resumed = resume_point(request.headers.get("Last-Event-ID", ""))
    since = resumed or (shown[-1].timestamp if shown else datetime.now(UTC))
    tail, slot = Tail(app, log_filter, since=since), StreamSlot(user.pk)
    if not slot.take():
        return ApiError(429, "rate_limit", StreamSlot.REFUSED).response()
    return TailStream(
        request,
        slot,
        tail,
        render=lambda line: _event(line) if line.source == "app" or not only_app else None,
        head=[_event(line) for line in shown],
        idle=": keep-alive\n\n",
    )
