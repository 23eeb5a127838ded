"""The web process's entry point: gunicorn runs it with uvicorn's worker (paas/gunicorn.py).

A request for a log stream (a view marked by apps.core.event_stream.streams) is served by
Django's ASGI handler: it waits on the event loop and holds no thread for as long as it is open.
Every other request goes to Django's WSGI handler in a pool of WEB_THREADS threads, through
a2wsgi: a page costs one hand-over to a thread, where Django's own ASGI handler would hand it
over several times and open a database connection per request (its threads live for one
request), which made pages three times slower."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from a2wsgi import WSGIMiddleware
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, resolve

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paas.settings")

streams_app = get_asgi_application()
pages_app = WSGIMiddleware(
    get_wsgi_application(),  # type: ignore[arg-type]
    workers=int(os.environ.get("WEB_THREADS", "2")),
)


@lru_cache(maxsize=4096)
def _streams(path: str) -> bool:
    try:
        return bool(getattr(resolve(path).func, "streams", False))
    except Resolver404:
        return False


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and _streams(scope["path"]):
        await streams_app(scope, receive, send)
    else:
        await pages_app(scope, receive, send)  # type: ignore[arg-type]
