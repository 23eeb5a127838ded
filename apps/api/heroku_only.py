"""Heroku's own services, which a self-hosted platform does not have: each request for one is
answered with one message that says what to use here instead, never a bare "not served"."""

from __future__ import annotations

import re

from apps.api.errors import ApiError

ADDONS = (
    "Add-ons (Heroku Postgres, Heroku Data for Redis and the marketplace) are Heroku's services: "
    "this platform has none. Run the service on your cluster (an operator or a Helm chart) or "
    "use a managed one, and give the app its URL with `heroku config:set DATABASE_URL=...`."
)
PIPELINES = (
    "Pipelines, review apps and Heroku CI are Heroku's services: this platform has none. Run "
    "your tests in your own CI, push the image it builds, and release it to each app with "
    "`bin/paas push` or the API's releases; `heroku releases:rollback` promotes nothing but "
    "rolls back."
)
SPACES = (
    "Private Spaces are Heroku's service: this platform has none. Each app already runs in a "
    "namespace of its own on your cluster; isolate networks with your cluster's NetworkPolicy."
)

# (service, path pattern, message): a request whose path matches is for that service.
SERVICES = (
    ("add-ons", re.compile(r"addon"), ADDONS),
    ("pipelines", re.compile(r"pipeline|test-run|review-app"), PIPELINES),
    ("spaces", re.compile(r"/spaces"), SPACES),
)


# The topics of the CLI's manual whose commands need one of those services (scripts/cli-compat).
TOPICS = {
    **dict.fromkeys(("addons", "data", "pg", "redis"), ADDONS),
    **dict.fromkeys(("ci", "pipelines", "reviewapps"), PIPELINES),
    "spaces": SPACES,
    "status": "It shows the status of Heroku's own platform.",
}


def not_applicable(command: str) -> str | None:
    """Why a command of the CLI cannot apply here, or None."""
    return TOPICS.get(command.split(":")[0])


def unavailable(service: str) -> ApiError:
    return next(
        ApiError(404, f"{name}_not_available", m) for name, _, m in SERVICES if name == service
    )


def heroku_only(path: str) -> ApiError | None:
    """The error that says what to use instead, when the path is one of Heroku's services."""
    for service, pattern, message in SERVICES:
        if pattern.search(path):
            return ApiError(404, f"{service}_not_available", message)
    return None
