from __future__ import annotations

from typing import Any

from django.http import Http404

from apps.api.errors import not_found
from apps.platform.models import App
from apps.platform.permissions import app_for


def find_app(user: Any, identity: str) -> App:
    """An app by name or id, among the user's own; any other is not found, never forbidden."""
    try:
        return app_for(user, identity)
    except Http404:
        raise not_found("Couldn't find that app.") from None
