"""The web process's entry point: gunicorn runs it with uvicorn's worker (paas/gunicorn.py), so a
log stream waits on the event loop instead of holding one of a fixed number of threads."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paas.settings")

application = get_asgi_application()
