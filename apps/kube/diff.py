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


def differences(desired: Any, live: Any, path: str = "") -> list[str]:
    """The paths at which live differs from desired, such as `.spec.replicas`."""
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
