"""Does a live object still say what we applied? The question the reconciler asks before writing.

The comparison is a subset one: every field we set must hold the same value on the live object,
and fields the API server or other controllers add (defaults, status, clusterIP) are ignored.
Lists must match element by element, since a container or port added by hand is drift. A
Secret's data is compared whole, because an extra key would reach the dynos' environment.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()
EXACT_FIELDS = frozenset({".data"})


def _holds(desired: Any, live: Any, exact: frozenset[str] = frozenset()) -> bool:
    """Whether live holds desired, by the rules of `differences` but without naming paths: the
    common answer (no drift) for thousands of objects in every resync. `exact` names the keys
    of this level that must match whole."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        for name, value in desired.items():
            have = live.get(name, _MISSING)
            if have is _MISSING:
                if value != {} and value != []:
                    return False
            elif name in exact:
                if value != have:
                    return False
            elif not _holds(value, have):
                return False
        return True
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(_holds(want, have) for want, have in zip(desired, live, strict=True))
        )
    return bool(desired == live)


_EXACT_TOP = frozenset(field[1:] for field in EXACT_FIELDS if field.count(".") == 1)


def differences(desired: Any, live: Any, path: str = "") -> list[str]:
    """The paths at which live differs from desired, such as `.spec.replicas`."""
    if not path and _holds(desired, live, _EXACT_TOP):
        return []
    if live is _MISSING and desired in ({}, []):
        return []  # the API server leaves empty maps and lists out entirely
    if path in EXACT_FIELDS:
        return [] if desired == live else [path]
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return [path or "."]
        found: list[str] = []
        for key, value in desired.items():
            found += differences(value, live.get(key, _MISSING), f"{path}.{key}")
        return found
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return [path]
        found = []
        for index, (want, have) in enumerate(zip(desired, live, strict=True)):
            found += differences(want, have, f"{path}[{index}]")
        return found
    return [] if desired == live else [path]


def key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]
