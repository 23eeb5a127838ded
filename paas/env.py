"""Typed readers for settings from the environment.

Each reader raises ImproperlyConfigured naming the variable and what is wrong with its value, so a
bad deployment stops at start-up instead of failing on the first request that needs the value.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str, default: list[str]) -> list[IPv4Network | IPv6Network]:
    """Comma-separated addresses or networks (10.0.0.0/8, 192.168.1.7, fd00::/8)."""
    try:
        return [ip_network(item, strict=False) for item in env_list(name, default)]
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None


def env_fernet_keys(name: str, default: list[str] | None) -> list[str]:
    """Comma-separated Fernet keys (32 bytes in URL-safe base64), at least one."""
    keys = env_list(name, default or [])
    if not keys:
        raise ImproperlyConfigured(
            f'{name} must be set outside development: a key made by `python -c "from '
            'cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
        )
    for number, key in enumerate(keys, 1):
        try:
            decoded = base64.urlsafe_b64decode(key.encode())
        except (ValueError, binascii.Error):
            decoded = b""
        if len(decoded) != 32:
            raise ImproperlyConfigured(
                f"{name}: key {number} is not a Fernet key (32 bytes in URL-safe base64)"
            )
    return keys


LABEL_VALUE = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")


def env_label(name: str, default: str = "", *, max_length: int = 63) -> str:
    """A value that goes into Kubernetes names and label values: lowercase DNS-label characters."""
    value = os.environ.get(name, "").strip() or default
    if value and (len(value) > max_length or not LABEL_VALUE.fullmatch(value)):
        raise ImproperlyConfigured(
            f"{name}={value!r} must be at most {max_length} lowercase letters, digits and dashes, "
            "starting and ending with a letter or digit"
        )
    return value


# A label key: an optional DNS-subdomain prefix and a name (Kubernetes' qualified name).
LABEL_KEY = re.compile(
    r"(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
ANY_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def env_node_selector(name: str) -> dict[str, str]:
    """KEY=VALUE,...: the node labels a pod must find, for nodeSelector."""
    selector = {}
    for item in env_list(name, []):
        key, equals, value = item.partition("=")
        if not (equals and LABEL_KEY.fullmatch(key) and ANY_LABEL_VALUE.fullmatch(value)):
            raise ImproperlyConfigured(f"{name} entry {item!r} must read LABEL=VALUE")
        selector[key] = value
    return selector


def env_tolerations(name: str) -> list[dict[str, str]]:
    """KEY[=VALUE]:EFFECT,...: the taints a pod tolerates (without a value: any value)."""
    tolerations = []
    for item in env_list(name, []):
        taint, _, effect = item.rpartition(":")
        key, equals, value = taint.partition("=")
        if not (LABEL_KEY.fullmatch(key) and ANY_LABEL_VALUE.fullmatch(value)) or (
            effect not in TAINT_EFFECTS
        ):
            raise ImproperlyConfigured(
                f"{name} entry {item!r} must read KEY=VALUE:EFFECT or KEY:EFFECT, the effect one "
                f"of {', '.join(TAINT_EFFECTS)}"
            )
        toleration = {"key": key, "operator": "Equal" if equals else "Exists", "effect": effect}
        if equals:
            toleration["value"] = value
        tolerations.append(toleration)
    return tolerations


TEAM_ROLES = ("admin", "member")
TEAM_NAME = re.compile(r"[-a-zA-Z0-9_]+")


def env_team_groups(name: str) -> dict[str, dict[str, str]]:
    """GROUP=TEAM:ROLE,...: the teams a sign-in provider's group makes its members part of, and
    with which role (admin or member; member when left out). A group may name several teams;
    a group's name may hold anything but a comma ("/acme/admins" from Keycloak's full paths).
    Returns group -> {team: role}."""
    mapping: dict[str, dict[str, str]] = {}
    for item in env_list(name, []):
        group, equals, grant = item.rpartition("=")
        team, _, role = grant.partition(":")
        role = role or "member"
        if not (equals and group.strip() and TEAM_NAME.fullmatch(team) and role in TEAM_ROLES):
            raise ImproperlyConfigured(
                f"{name} entry {item!r} must read GROUP=TEAM:ROLE, with TEAM a team's name "
                f"(letters, digits, - and _) and ROLE one of {', '.join(TEAM_ROLES)}"
            )
        teams = mapping.setdefault(group.strip(), {})
        if teams.get(team, role) != role:
            raise ImproperlyConfigured(f"{name} gives group {group.strip()!r} two roles in {team}")
        teams[team] = role
    return mapping


def env_url(name: str, default: str = "", *, https: bool = False) -> str:
    """An http(s) URL with a host, without a trailing slash; with https, plain http is refused."""
    value = os.environ.get(name, "").strip().rstrip("/") or default
    if not value:
        return value
    parts = urlsplit(value)
    schemes = {"https"} if https else {"http", "https"}
    if parts.scheme not in schemes or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name}={value!r} must be an {' or '.join(sorted(schemes))} URL with a host"
        )
    return value


def database_from_url(name: str, url: str) -> dict[str, Any]:
    """Django DATABASES entry from postgres://user:password@host:port/dbname."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// URL, got scheme {parts.scheme or '(none)'!r}"
        )
    dbname = parts.path.lstrip("/")
    if not dbname:
        raise ImproperlyConfigured(f"{name} has no database name (postgres://host:port/NAME)")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(dbname),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def redis_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{name} must be a redis:// URL, got {url!r}")
    if parts.scheme != "unix" and not parts.hostname:
        raise ImproperlyConfigured(f"{name} has no host (redis://host:port/db)")
    return url


def existing_file(name: str, path: str) -> str:
    if not Path(path).expanduser().is_file():
        raise ImproperlyConfigured(f"{name}={path} does not exist or is not a file")
    return str(Path(path).expanduser())
