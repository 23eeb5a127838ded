"""Validation of user input at the edge, with messages a user can act on.

Names end up in Kubernetes object names, labels and environment variables, so they follow the
stricter of Heroku's and Kubernetes' rules.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

APP_NAME = re.compile(r"[a-z][a-z0-9-]{1,28}[a-z0-9]")
PROCESS_TYPE = re.compile(r"[a-z](?:[a-z0-9-]{0,28}[a-z0-9])?")
CONFIG_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The distribution reference grammar: [registry[:port]/]path[:tag][@algorithm:hex].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
# As Docker reads it: the first part is a registry only with a dot or a port, or as localhost.
_DOMAIN = (
    rf"(?:localhost(?::[0-9]+)?|{_LABEL}(?:\.{_LABEL})+(?::[0-9]+)?|{_LABEL}:[0-9]+"
    r"|\[[0-9a-fA-F:]+\](?::[0-9]+)?)"
)
IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?",
    re.ASCII,
)

CONFIG_KEY_MAX = 256
CONFIG_VALUE_MAX = 32 * 1024
CONFIG_TOTAL_MAX = 64 * 1024
QUANTITY_MAX = 100
IMAGE_MAX = 512
RESERVED_CONFIG_PREFIXES = ("PAAS_", "KUBERNETES_")
RESERVED_CONFIG_KEYS = frozenset({"PORT", "DYNO", "PS"})


def ascii_int(text: str, digits: int = 9) -> int | None:
    """The number in `text` when it is 1 to `digits` ASCII digits, else None: str.isdigit also
    takes "²" and "٣", which int() then refuses or reads, and a long run of digits overflows
    every column it reaches."""
    if 0 < len(text) <= digits and text.isascii() and text.isdigit():
        return int(text)
    return None


def validate_app_name(name: str) -> None:
    if not APP_NAME.fullmatch(name):
        raise ValidationError(
            f"{name!r} is not a valid app name: use 3 to 30 lowercase letters, digits and dashes, "
            "starting with a letter and not ending with a dash.",
            code="invalid_app_name",
        )


def validate_process_type(name: str) -> None:
    if not PROCESS_TYPE.fullmatch(name):
        raise ValidationError(
            f"{name!r} is not a valid process type: use up to 30 lowercase letters, digits and "
            "dashes, starting with a letter (web, worker, clock, ...).",
            code="invalid_process_type",
        )


def validate_config_key(key: str) -> None:
    if len(key) > CONFIG_KEY_MAX or not CONFIG_KEY.fullmatch(key):
        raise ValidationError(
            f"{key[:60]!r} is not a valid config var name: use letters, digits and underscores, "
            f"not starting with a digit, at most {CONFIG_KEY_MAX} characters.",
            code="invalid_config_key",
        )
    if key in RESERVED_CONFIG_KEYS or key.startswith(RESERVED_CONFIG_PREFIXES):
        raise ValidationError(
            f"{key} is set by the platform and cannot be changed.", code="reserved_config_key"
        )


def validate_config_value(key: str, value: str) -> None:
    if len(value.encode()) > CONFIG_VALUE_MAX:
        raise ValidationError(
            f"The value of {key} is {len(value.encode())} bytes; the limit is {CONFIG_VALUE_MAX}.",
            code="config_value_too_large",
        )


def validate_config_total(config: dict[str, str]) -> None:
    total = sum(len(k.encode()) + len(v.encode()) for k, v in config.items())
    if total > CONFIG_TOTAL_MAX:
        raise ValidationError(
            f"Config vars would total {total} bytes; an app may hold {CONFIG_TOTAL_MAX}.",
            code="config_too_large",
        )


def validate_quantity(quantity: int) -> None:
    if not 0 <= quantity <= QUANTITY_MAX:
        raise ValidationError(
            f"Quantity {quantity} is out of range: choose 0 to {QUANTITY_MAX} dynos.",
            code="invalid_quantity",
        )


def validate_image(image: str) -> None:
    if len(image) > IMAGE_MAX or not IMAGE_REFERENCE.fullmatch(image):
        raise ValidationError(
            f"{image[:80]!r} is not an image reference: use registry/name:tag or "
            "registry/name@sha256:digest.",
            code="invalid_image",
        )


INT_OR_PERCENT = re.compile(r"[0-9]{1,3}%?")


def validate_rolling_update(max_surge: str, max_unavailable: str) -> None:
    for label, value in (("Max surge", max_surge), ("Max unavailable", max_unavailable)):
        if not INT_OR_PERCENT.fullmatch(value) or (value.endswith("%") and int(value[:-1]) > 100):
            raise ValidationError(
                f"{label} {value!r} must be a number of dynos (such as 1) or a percentage "
                "(such as 25%).",
                code="invalid_rolling_update",
            )
    if max_surge.rstrip("%") == "0" and max_unavailable.rstrip("%") == "0":
        raise ValidationError(
            "Max surge and max unavailable cannot both be 0: the rollout could never start.",
            code="invalid_rolling_update",
        )


def validate_autoscale(minimum: int, maximum: int, cpu_percent: int) -> None:
    if not 1 <= minimum <= maximum <= QUANTITY_MAX:
        raise ValidationError(
            f"Autoscaling range {minimum}-{maximum} is invalid: choose 1 <= minimum <= maximum "
            f"<= {QUANTITY_MAX}.",
            code="invalid_autoscale",
        )
    if not 10 <= cpu_percent <= 100:
        raise ValidationError(
            f"Target CPU {cpu_percent}% is out of range: choose 10 to 100.",
            code="invalid_autoscale",
        )


def validate_healthcheck(kind: str, path: str, command: str) -> None:
    if kind == "http" and not (path.startswith("/") and len(path) <= 200 and " " not in path):
        raise ValidationError(
            f"Health check path {path[:60]!r} must start with / and contain no spaces.",
            code="invalid_healthcheck",
        )
    if kind == "command" and not command.strip():
        raise ValidationError(
            "A command health check needs a command to run.", code="invalid_healthcheck"
        )


REGISTRY = re.compile(_DOMAIN)
REGISTRY_LOGIN_MAX = 255
REGISTRY_PASSWORD_MAX = 4096


def validate_registry_credential(registry: str, username: str, password: str) -> None:
    """A registry as image references name it (a host with a dot or a port, or localhost) and a
    login to it; the password may be a token, but not empty or huge."""
    if len(registry) > 253 or not REGISTRY.fullmatch(registry):
        raise ValidationError(
            f"{registry[:80]!r} is not a registry: use its host as images name it, such as "
            "ghcr.io or registry.example.com:5000.",
            code="invalid_registry",
        )
    if not username or len(username) > REGISTRY_LOGIN_MAX or any(c in username for c in ":\n"):
        raise ValidationError(
            "The registry username must be 1 to 255 characters, without ':' or a line break.",
            code="invalid_registry_username",
        )
    if not password or len(password) > REGISTRY_PASSWORD_MAX:
        raise ValidationError(
            "The registry password or token must be 1 to 4096 characters.",
            code="invalid_registry_password",
        )
