"""Releases (list with Range paging, info, deploy an image, roll back) and config vars."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from django.db.models import QuerySet

from apps.api import shapes
from apps.api.errors import ApiError, invalid
from apps.api.http import ApiRequest, api_view, respond
from apps.api.ranges import next_range, parse_range
from apps.api.views.common import find_app
from apps.platform.encryption import app_config, unseal_all
from apps.platform.models import App, Operation, Release
from apps.platform.permissions import DEPLOY, MANAGE, require, require_config_values
from apps.platform.services import config_update, release_deploy, release_rollback
from apps.platform.validators import ascii_int


def _statuses(app: App, releases: list[Release]) -> dict[int, str]:
    """A release is pending while its operation is open, failed if it failed."""
    outcome: dict[int, str] = {}
    operations = Operation.objects.filter(release__in=releases).exclude(
        status=Operation.Status.SUPERSEDED
    )
    for release_id, status in operations.values_list("release_id", "status"):
        if status in Operation.ACTIVE:
            outcome[release_id] = "pending"
        elif status == Operation.Status.FAILED:
            outcome.setdefault(release_id, "failed")
    return outcome


def _shaped(app: App, releases: list[Release]) -> list[dict[str, Any]]:
    current = app.releases.order_by("-version").values_list("version", flat=True).first()
    statuses = _statuses(app, releases)
    return [
        shapes.release(r, app, current=r.version == current, status=statuses.get(r.pk, "succeeded"))
        for r in releases
    ]


def _find(app: App, identity: str) -> Release:
    releases: QuerySet[Release] = app.releases.select_related("created_by")
    found = None
    if (version := ascii_int(identity)) is not None:
        found = releases.filter(version=version).first()
    else:
        with contextlib.suppress(ValueError):  # a malformed UUID names no release
            found = releases.filter(uid=uuid.UUID(identity)).first()
    if found is None:
        raise ApiError(404, "not_found", f"Couldn't find that release ({identity[:40]}).")
    return found


@api_view("GET", "POST")
def releases(request: ApiRequest, app: str) -> Any:
    found = find_app(request.user, app)
    if request.method == "POST":
        return _create(request, found)
    paging = parse_range(request.headers.get("Range", ""), fields=("version",), default="version")
    listing = found.releases.select_related("created_by")
    listing = listing.order_by("-version" if paging.descending else "version")
    if (after := ascii_int(paging.after)) is not None:
        listing = listing.filter(**{"version__lt" if paging.descending else "version__gt": after})
    page = list(listing[: paging.max + 1])
    more, page = len(page) > paging.max, page[: paging.max]
    body = _shaped(found, page)
    if more:
        headers = {"Next-Range": next_range(paging, str(page[-1].version))}
        return respond(body, status=206, headers=headers)
    return body


def _create(request: ApiRequest, app: App) -> Any:
    require(request.user, app, DEPLOY)
    data = request.data
    if "release" in data:
        target = _find(app, str(data["release"]))
        release = release_rollback(actor=request.user, app=app, version=target.version)
    else:
        image = data.get("oci_image") or data.get("image")
        if isinstance(image, dict):
            image = image.get("id") or image.get("name")
        if not isinstance(image, str) or not image:
            raise invalid('Send {"release": <id>} to roll back or {"oci_image": <image>}.')
        description = data.get("description") or ""
        if not isinstance(description, str):
            raise invalid("description must be a string.")
        commands = data.get("commands")
        if commands is not None and not (
            isinstance(commands, dict)
            and all(isinstance(k, str) and isinstance(v, str) and v for k, v in commands.items())
        ):
            raise invalid('commands must map process types to commands: {"web": "..."}.')
        release = release_deploy(
            actor=request.user,
            app=app,
            image=image,
            description=description[:200],
            commands=commands or None,
        )
    return respond(_shaped(app, [_find(app, str(release.version))])[0], status=201)


@api_view("GET")
def release(request: ApiRequest, app: str, release: str) -> Any:
    found = find_app(request.user, app)
    return _shaped(found, [_find(found, release)])[0]


@api_view("GET")
def release_config_vars(request: ApiRequest, app: str, release: str) -> Any:
    """The config vars as that release ran with them (`heroku releases:info`), for those who
    may see config values."""
    found = find_app(request.user, app)
    require_config_values(request.user, found)
    return dict(sorted(unseal_all(found, _find(found, release).config).items()))


@api_view("GET", "PATCH")
def config_vars(request: ApiRequest, app: str) -> Any:
    found = find_app(request.user, app)
    require_config_values(request.user, found)
    if request.method == "PATCH":
        require(request.user, found, MANAGE)
    current = app_config(found)
    if request.method == "PATCH":
        changes: dict[str, str | None] = {}
        for key, value in request.data.items():
            if value is not None and not isinstance(value, str | int | float | bool):
                raise invalid(f"The value of {key[:60]} must be a string or null.")
            changes[key] = None if value is None else str(value)
        wanted = {k: v for k, v in (current | changes).items() if v is not None}
        if wanted != current:
            config_update(actor=request.user, app=found, changes=changes)
        current = app_config(found)
    return dict(sorted(current.items()))
