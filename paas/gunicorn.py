"""How gunicorn serves the web process, wherever it runs (the image, the Procfile, the
benchmarks): `gunicorn -c python:paas.gunicorn paas.asgi --bind ADDRESS`.

Uvicorn's worker runs paas/asgi.py: a page runs in one of WEB_THREADS threads for the time it
takes; a log stream (Server-Sent Events, open for up to an hour) waits on the event loop, so
open streams cannot take the threads that the pages, the API and the probes need."""

from __future__ import annotations

import os

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):  # type: ignore[misc]  # untyped
    # Django has no lifespan events. On shutdown, streams still open after 10 s are ended (the
    # browser reconnects to another process) so that a rollout is not held by them. Forwarded
    # headers are left to apps.core.clients, which believes them from TRUSTED_PROXIES only:
    # uvicorn's own reading would believe any local client.
    CONFIG_KWARGS = {
        **UvicornWorker.CONFIG_KWARGS,
        "lifespan": "off",
        "timeout_graceful_shutdown": 10,
        "proxy_headers": False,
        "server_header": False,
    }


worker_class = "paas.gunicorn.Worker"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
graceful_timeout = 20
accesslog = "-"
# The default control socket sits in the working directory, shared by every gunicorn there.
control_socket_disable = True
