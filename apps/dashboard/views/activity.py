from __future__ import annotations

import csv
import json
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from apps.dashboard.views.common import Request, app_view, page, site_admin_view
from apps.logs.events import event_text
from apps.platform.models import Activity, App

PER_PAGE = 50
EXPORT_FIELDS = ("created", "app", "actor", "action", "text", "before", "after")


@require_GET
@app_view
def app_activity(request: Request, app: App) -> HttpResponse:
    history = app.activities.select_related("actor").order_by("-created")
    listing = Paginator(history, PER_PAGE).get_page(request.GET.get("page"))
    return page(request, "dashboard/app_activity.html", {"app": app, "listing": listing})


def _filtered(request: Request) -> tuple[QuerySet[Activity], dict[str, str]]:
    # No name holds a NUL, and Postgres refuses one in a query: it goes.
    filters = {
        name: request.GET.get(name, "").replace("\x00", "").strip()[:40]
        for name in ("app", "actor", "action", "since")
    }
    history = Activity.objects.select_related("actor").order_by("-created")
    if filters["app"]:
        history = history.filter(app_name=filters["app"])
    if filters["actor"]:
        history = history.filter(actor__username=filters["actor"])
    if filters["action"]:
        history = history.filter(action__startswith=filters["action"])
    if since := _date(filters["since"]):
        history = history.filter(created__date__gte=since)
    return history, filters


def _date(text: str) -> date | None:
    """The day of a YYYY-MM-DD filter; None, as for any other text, for a day that does not exist
    (2024-02-30), on which parse_date raises."""
    try:
        return parse_date(text)
    except ValueError:
        return None


def _row(activity: Activity) -> dict[str, Any]:
    actor = activity.actor.get_username() if activity.actor else None
    return {
        "created": activity.created.isoformat(),
        "app": activity.app_name,
        "actor": actor,
        "action": activity.action,
        "text": event_text(activity.action, activity.before, activity.after, actor),
        "before": activity.before,
        "after": activity.after,
    }


class _Echo:
    def write(self, value: str) -> str:
        return value


# What a spreadsheet would run as a formula when the export is opened (OWASP's list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading ' keeps `=HYPERLINK(...)` in an
    app name, a description or a config change from being evaluated."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _export(history: QuerySet[Activity], kind: str) -> StreamingHttpResponse:
    """Streamed, so an export of years of history never sits whole in memory."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    rows = (_row(a) for a in history.iterator(chunk_size=500))
    if kind == "json":

        def lines() -> Any:
            yield "[\n"
            for number, row in enumerate(rows):
                yield ("," if number else "") + json.dumps(row) + "\n"
            yield "]\n"

        response = StreamingHttpResponse(lines(), content_type="application/json")
    else:
        writer = csv.writer(_Echo())

        def records() -> Any:
            yield writer.writerow(EXPORT_FIELDS)
            for row in rows:
                yield writer.writerow(
                    [
                        _cell(json.dumps(row[f]) if f in ("before", "after") else row[f])
                        for f in EXPORT_FIELDS
                    ]
                )

        response = StreamingHttpResponse(records(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="activity-{stamp}.{kind}"'
    return response


@require_GET
@site_admin_view
def activity(request: Request) -> HttpResponse | StreamingHttpResponse:
    history, filters = _filtered(request)
    if (kind := request.GET.get("format", "")) in ("csv", "json"):
        return _export(history, kind)
    listing = Paginator(history, PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})  # "&" or "#" in a filter stays in it
    context = {"listing": listing, "filters": filters, "query": query, "app_name": filters["app"]}
    return page(request, "dashboard/activity.html", context)
