"""App features (`heroku features`, `heroku labs`) in Heroku's shapes; an account has none."""

from __future__ import annotations

from typing import Any

from apps.api import shapes
from apps.api.errors import invalid, not_found
from apps.api.http import ApiRequest, api_view
from apps.api.views.common import find_app
from apps.platform.features import APP_FEATURES, Feature, enabled
from apps.platform.models import App
from apps.platform.permissions import MANAGE, require
from apps.platform.services import feature_set


def _feature(app: App, feature: Feature) -> dict[str, Any]:
    return {
        "id": shapes.derived_id("feature", feature.name),
        "name": feature.name,
        "display_name": feature.display_name,
        "description": feature.description,
        "doc_url": "",
        "enabled": enabled(app.features, feature.name),
        "state": feature.state,
        "feedback_email": "",
        "created_at": None,
        "updated_at": None,
    }


def _find(name: str) -> Feature:
    feature = APP_FEATURES.get(name) or next(
        (f for f in APP_FEATURES.values() if shapes.derived_id("feature", f.name) == name), None
    )
    if feature is None:
        raise not_found(f"Couldn't find that feature: this platform has {', '.join(APP_FEATURES)}.")
    return feature


@api_view("GET")
def app_features(request: ApiRequest, app: str) -> Any:
    found = find_app(request.user, app)
    return [_feature(found, feature) for feature in APP_FEATURES.values()]


@api_view("GET", "PATCH")
def app_feature(request: ApiRequest, app: str, feature: str) -> Any:
    found = find_app(request.user, app)
    chosen = _find(feature)
    if request.method == "PATCH":
        require(request.user, found, MANAGE)
        enable = request.data.get("enabled")
        if not isinstance(enable, bool):
            raise invalid("enabled must be true or false.")
        feature_set(actor=request.user, app=found, name=chosen.name, enable=enable)
        found = find_app(request.user, app)
    return _feature(found, chosen)


@api_view("GET")
def account_features(request: ApiRequest) -> Any:
    """Features are the app's on this platform; an account has none."""
    return []


@api_view("GET", "PATCH")
def account_feature(request: ApiRequest, feature: str) -> Any:
    where = " (it is an app feature: add -a APP)" if feature in APP_FEATURES else ""
    raise not_found(f"Couldn't find that feature: an account has none here{where}.")
