from __future__ import annotations

from typing import Any

from django.http import Http404

from apps.api.errors import not_found
from apps.platform.models import App
from apps.platform.permissions import app_for, visible_apps


def find_app(user: Any, identity: str) -> App:
    """An app by name or id, among the user's own; any other is not found, never forbidden."""
    try:
        if len(identity) == 36 and identity.count("-") == 4:
            found = visible_apps(user).select_related("team", "owner").filter(uid=identity).first()
            if found is None:
                raise Http404
            return found
        return app_for(user, identity)
    except (Http404, ValueError):
        raise not_found("Couldn't find that app.") from None
