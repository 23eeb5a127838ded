"""Formation and dynos: scale (absolute or relative, with sizes), list, restart."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from apps.api import shapes
from apps.api.errors import ApiError, invalid
from apps.api.http import ApiRequest, api_view, respond
from apps.api.views.common import find_app
from apps.platform.models import App, Dyno, ProcessType
from apps.platform.permissions import OPERATE, require
from apps.platform.rendezvous import session_url
from apps.platform.services import (
    ProcessChange,
    dyno_restart,
    dyno_run,
    dyno_run_inside,
    formation_update,
)

QUANTITY = re.compile(r"^([+-]?)(\d{1,4})$")


def _formation(app: App) -> dict[str, ProcessType]:
    return {p.name: p for p in app.process_types.select_related("size").order_by("name")}


def _size(update: dict[str, Any]) -> str | None:
    size = update.get("size", update.get("dyno_size"))
    if isinstance(size, dict):
        size = size.get("name")
    if size is None:
        return None
    if not isinstance(size, str):
        raise invalid("size must be the name of a dyno size.")
    return size.lower()


def _quantity(value: Any, current: int) -> int | None:
    """Absolute (3, "3") or relative ("+1", "-2") as `heroku ps:scale` sends them."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise invalid("quantity must be a number.")
    match = QUANTITY.match(str(value).strip())
    if not match:
        raise invalid(f"Invalid quantity {str(value)[:20]!r}: use a number such as 3, +1 or -1.")
    sign, number = match.groups()
    if sign:
        return max(0, current + (int(number) if sign == "+" else -int(number)))
    return int(number)


def _apply(request: ApiRequest, app: App, updates: list[Any]) -> list[dict[str, Any]]:
    require(request.user, app, OPERATE)
    existing = _formation(app)
    changes = []
    for update in updates:
        if not isinstance(update, dict) or not isinstance(update.get("type"), str):
            raise invalid('Each update needs a process type: {"type": "web", ...}.')
        name = update["type"]
        process = existing.get(name)
        if process is None:
            raise ApiError(404, "not_found", f"Couldn't find that process type ({name[:30]}).")
        quantity = _quantity(update.get("quantity"), process.quantity)
        changes.append(ProcessChange(name, quantity=quantity, size=_size(update)))
    formation_update(actor=request.user, app=app, changes=changes)
    updated = _formation(app)
    return [shapes.formation(updated[c.name], app) for c in changes]


@api_view("GET", "PATCH")
def formation(request: ApiRequest, app: str) -> Any:
    found = find_app(request.user, app)
    if request.method == "PATCH":
        updates = request.data.get("updates")
        if not isinstance(updates, list) or not updates:
            raise invalid('Send {"updates": [{"type": "web", "quantity": 2}]}.')
        return _apply(request, found, updates)
    return [shapes.formation(p, found) for p in _formation(found).values()]


@api_view("GET", "PATCH")
def formation_type(request: ApiRequest, app: str, type: str) -> Any:
    found = find_app(request.user, app)
    if request.method == "PATCH":
        return _apply(request, found, [{**request.data, "type": type}])[0]
    process = _formation(found).get(type)
    if process is None:
        raise ApiError(404, "not_found", f"Couldn't find that process type ({type[:30]}).")
    return shapes.formation(process, found)


@api_view("POST")
def stop(request: ApiRequest, app: str, target: str) -> Any:
    """`heroku ps:stop`: a dyno (web.1), or every dyno of a type (web). As on Heroku, a stopped
    dyno of the formation is replaced by a new one, so this restarts it."""
    found = find_app(request.user, app)
    require(request.user, found, OPERATE)
    dyno_restart(actor=request.user, app=found, target=target)
    return respond({}, status=202)


@api_view("DELETE")
def restart_type(request: ApiRequest, app: str, type: str) -> Any:
    found = find_app(request.user, app)
    require(request.user, found, OPERATE)
    dyno_restart(actor=request.user, app=found, target=type)
    return respond({}, status=202)


def _dynos(app: App) -> list[dict[str, Any]]:
    processes = _formation(app)
    releases = {v: str(u) for v, u in app.releases.values_list("version", "uid")}
    return [
        shapes.dyno(d, app, processes.get(d.process_type), releases)
        for d in Dyno.objects.filter(app=app).order_by("process_type", "number")
    ]


@api_view("GET", "DELETE", "POST")
def dynos(request: ApiRequest, app: str) -> Any:
    found = find_app(request.user, app)
    if request.method == "DELETE":
        require(request.user, found, OPERATE)
        dyno_restart(actor=request.user, app=found)
        return respond({}, status=202)
    if request.method == "POST":
        return _run(request, found)
    return _dynos(found)


@api_view("GET", "POST", "DELETE")
def dyno(request: ApiRequest, app: str, dyno: str) -> Any:
    """One dyno by name (web.1); for DELETE a process type too (web), as the CLI may send; POST
    runs a command inside it (`heroku run:inside`)."""
    found = find_app(request.user, app)
    if request.method == "POST":
        return _run_inside(request, found, dyno)
    if request.method == "DELETE":
        require(request.user, found, OPERATE)
        dyno_restart(actor=request.user, app=found, target=dyno)
        return respond({}, status=202)
    for item in _dynos(found):
        if dyno in (item["name"], item["id"]):
            return item
    raise ApiError(404, "not_found", f"Couldn't find that dyno ({dyno[:40]}).")


def _run_inside(request: ApiRequest, app: App, name: str) -> Any:
    require(request.user, app, OPERATE)
    if not settings.RENDEZVOUS_ENABLED:
        raise ApiError(422, "not_supported", "heroku run:inside needs the rendezvous server.")
    command = request.data.get("command")
    if not isinstance(command, str):
        raise invalid("command must be a string.")
    running = dyno_run_inside(actor=request.user, app=app, dyno=name, command=command)
    item = next((d for d in _dynos(app) if d["name"] == name), {"name": name})
    attach_url = session_url(
        settings.RENDEZVOUS_HOST or request.get_host().rsplit(":", 1)[0],
        app_uid=str(app.uid),
        namespace=app.namespace,
        pod=running.pod_name,
        command=command.strip(),
        inside=True,
    )
    return respond(item | {"command": command.strip(), "attach_url": attach_url}, status=201)


def _run(request: ApiRequest, app: App) -> Any:
    """A one-off dyno: `heroku run:detached`, or attached (`heroku run`) through the rendezvous
    server when one is configured."""
    require(request.user, app, OPERATE)
    data = request.data
    attach = bool(data.get("attach"))
    if attach and not settings.RENDEZVOUS_ENABLED:
        raise ApiError(
            422,
            "not_supported",
            "Attached one-off dynos (heroku run) are not served here: use heroku run:detached "
            "and read its output with heroku logs --dyno run.N.",
        )
    command, env, ttl = data.get("command"), data.get("env") or {}, data.get("time_to_live", 3600)
    if not isinstance(command, str):
        raise invalid("command must be a string.")
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise invalid("env must map names to strings.")
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise invalid("time_to_live must be a number of seconds.")
    size = data.get("size")
    operation = dyno_run(
        actor=request.user,
        app=app,
        command=command,
        env=env,
        ttl=ttl,
        attach=attach,
        size=size.lower() if isinstance(size, str) else None,
    )
    run = operation.run
    release = app.releases.order_by("-version").first()
    body = {
        "id": shapes.derived_id("run", app.uid, run["name"]),
        "name": f"run.{run['number']}",
        "type": "run",
        "command": run["command"],
        "state": "starting",
        "size": run["size"],
        "attach_url": session_url(
            settings.RENDEZVOUS_HOST or request.get_host().rsplit(":", 1)[0],
            app_uid=str(app.uid),
            namespace=app.namespace,
            pod=run["name"],
            command=run["command"],
        )
        if attach
        else None,
        "app": shapes.app_ref(app),
        "release": {"id": str(release.uid), "version": release.version} if release else None,
        "created_at": operation.created.isoformat(),
        "updated_at": operation.created.isoformat(),
    }
    return respond(body, status=201)
