"""Platform log messages from audit records, worded as Heroku words its app[api] lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Wording = Callable[[dict[str, Any], dict[str, Any]], str]


def event_text(
    action: str, before: dict[str, Any], after: dict[str, Any], actor: str | None
) -> str:
    """The message for an audit record, e.g. "Scaled to web@2:basic by user alice@example.org";
    an unknown action is shown by its name."""
    wording = _WORDINGS.get(action)
    text = wording(before, after) if wording else action
    return text if actor is None else f"{text} by user {actor}"


def _app_create(before: dict[str, Any], after: dict[str, Any]) -> str:
    return f"Created app {after.get('name', '')}"


def _formation_update(before: dict[str, Any], after: dict[str, Any]) -> str:
    names = sorted(name for name in after if before.get(name) != after[name]) or sorted(after)
    return "Scaled to " + " ".join(_process(name, after[name]) for name in names)


def _process(name: str, process: Any) -> str:
    if not isinstance(process, dict):
        return name
    return f"{name}@{process.get('quantity')}:{process.get('size')}"


def _config_update(before: dict[str, Any], after: dict[str, Any]) -> str:
    old, new = set(before.get("keys", ())), set(after.get("keys", ()))
    added, removed = sorted(new - old), sorted(old - new)
    # Only key names are recorded, so a changed value shows as a key in both lists.
    parts = [f"Set {', '.join(added)}"] if added else []
    parts += [f"Unset {', '.join(removed)}"] if removed else []
    return "; ".join(parts) + " config vars" if parts else "Updated config vars"


def _release_deploy(before: dict[str, Any], after: dict[str, Any]) -> str:
    return f"Deployed {after.get('image')} as v{after.get('version')}"


def _release_rollback(before: dict[str, Any], after: dict[str, Any]) -> str:
    return f"Rolled back to v{after.get('to')} as v{after.get('version')}"


def _dyno_restart(before: dict[str, Any], after: dict[str, Any]) -> str:
    target = str(after.get("target") or "all")
    if target == "all":
        return "Restarted all dynos"
    return f"Restarted {target}" if "." in target else f"Restarted {target} dynos"


def _autoscale_update(before: dict[str, Any], after: dict[str, Any]) -> str:
    process, low, high = before.get("process"), after.get("min"), after.get("max")
    if low is None and high is None:
        return f"Autoscaling {process} off"
    return f"Autoscaling {process} between {low} and {high} dynos"


def _process_settings(before: dict[str, Any], after: dict[str, Any]) -> str:
    return f"Updated settings of {before.get('process')}"


def _drift_repair(before: dict[str, Any], after: dict[str, Any]) -> str:
    return "Repaired drift on the cluster"


def _app_destroy(before: dict[str, Any], after: dict[str, Any]) -> str:
    return "Destroyed app"


def _app_maintenance(before: dict[str, Any], after: dict[str, Any]) -> str:
    return f"Maintenance mode {'on' if after.get('maintenance') else 'off'}"


def _team_member(before: dict[str, Any], after: dict[str, Any]) -> str:
    return f"Made {after.get('user')} {after.get('role')} of team {before.get('team')}"


def _team_remove(before: dict[str, Any], after: dict[str, Any]) -> str:
    return f"Removed {before.get('user')} from team {before.get('team')}"


def _collaborator(before: dict[str, Any], after: dict[str, Any]) -> str:
    if after:
        return f"Gave {after.get('user')} {', '.join(after.get('permissions', []))} access"
    return f"Removed the access of {before.get('user')}"


def _registry_set(before: dict[str, Any], after: dict[str, Any]) -> str:
    scope, registry, username = after.get("scope"), after.get("registry"), after.get("username")
    return f"Set the {scope}'s login to {registry} as {username}"


_WORDINGS: dict[str, Wording] = {
    "app.maintenance": _app_maintenance,
    "team.create": lambda before, after: f"Created team {after.get('team')}",
    "team.member": _team_member,
    "team.remove": _team_remove,
    "size.save": lambda before, after: f"Saved dyno size {after.get('name')}",
    "collaborator.update": _collaborator,
    "app.create": _app_create,
    "formation.update": _formation_update,
    "config.update": _config_update,
    "release.deploy": _release_deploy,
    "release.rollback": _release_rollback,
    "dyno.restart": _dyno_restart,
    "dyno.run": lambda before, after: (
        f"Starting process with command `{after.get('command')}` on {after.get('dyno')}"
    ),
    "autoscale.update": _autoscale_update,
    "process.settings": _process_settings,
    "drift.repair": _drift_repair,
    "app.destroy": _app_destroy,
    "registry.set": _registry_set,
    "registry.remove": lambda before, after: (
        f"Removed the {after.get('scope')}'s login to {after.get('registry')}"
    ),
}
