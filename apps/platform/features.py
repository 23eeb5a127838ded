"""Features an app can switch on and off, as Heroku's `features` and `labs` commands do.

Only what this platform really does is listed: a feature here changes the app's manifests
(apps/kube/manifests.py), and an app stores only the features switched away from their default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Feature:
    name: str
    display_name: str
    description: str
    default: bool
    # Heroku's states: "general" features are listed by `heroku features`, "beta" ones by
    # `heroku labs`, where Heroku users know them from.
    state: str


PREBOOT = "preboot"
DYNO_METADATA = "runtime-dyno-metadata"
RESTRICTED = "restricted-pod-security"

APP_FEATURES = {
    feature.name: feature
    for feature in (
        Feature(
            PREBOOT,
            "Preboot",
            "New web dynos start, and pass their health check, before the old ones stop, on "
            "every deploy, config change and restart. Switched off, the old web dynos stop first "
            "(for apps that must never run two releases at once).",
            default=True,
            state="general",
        ),
        Feature(
            DYNO_METADATA,
            "Runtime dyno metadata",
            "Dynos get HEROKU_APP_ID, HEROKU_APP_NAME, HEROKU_DYNO_ID and HEROKU_RELEASE_VERSION "
            "in their environment, as on Heroku.",
            default=False,
            state="beta",
        ),
        Feature(
            RESTRICTED,
            "Restricted pod security",
            "The app's namespace enforces Kubernetes' restricted Pod Security level instead of "
            "baseline, and every dyno must run as a user other than root: an image that runs "
            "as root no longer starts.",
            default=False,
            state="beta",
        ),
    )
}


def enabled(features: dict[str, Any], name: str) -> bool:
    """Whether the feature is on for an app whose `App.features` are these."""
    return bool(features.get(name, APP_FEATURES[name].default))


def find_feature(name: str) -> Feature:
    feature = APP_FEATURES.get(name)
    if feature is None:
        raise ValidationError(
            f"There is no feature {name!r}: choose one of {', '.join(sorted(APP_FEATURES))}.",
            code="unknown_feature",
        )
    return feature
