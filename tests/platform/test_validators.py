from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.platform import validators as v


@pytest.mark.parametrize("name", ["web-app", "abc", "a1-b2-c3", "x" * 30])
def test_valid_app_names(name):
    v.validate_app_name(name)


@pytest.mark.parametrize("name", ["ab", "Web", "1app", "app-", "my_app", "x" * 31, "app.name", ""])
def test_invalid_app_names_explain_the_rule(name):
    with pytest.raises(ValidationError, match="3 to 30 lowercase letters"):
        v.validate_app_name(name)


@pytest.mark.parametrize("name", ["web", "worker", "w", "clock-2"])
def test_valid_process_types(name):
    v.validate_process_type(name)


@pytest.mark.parametrize("name", ["Web", "2web", "web_1", "web-", "", "w" * 31])
def test_invalid_process_types(name):
    with pytest.raises(ValidationError, match="not a valid process type"):
        v.validate_process_type(name)


@pytest.mark.parametrize("key", ["DATABASE_URL", "_X", "a1"])
def test_valid_config_keys(key):
    v.validate_config_key(key)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("1ABC", "not a valid config var name"),
        ("MY-VAR", "not a valid config var name"),
        ("A B", "not a valid config var name"),
        ("K" * 257, "not a valid config var name"),
        ("PORT", "set by the platform"),
        ("PAAS_APP", "set by the platform"),
    ],
)
def test_invalid_config_keys(key, message):
    with pytest.raises(ValidationError, match=message):
        v.validate_config_key(key)


def test_config_values_and_totals_have_size_limits():
    v.validate_config_value("K", "x" * v.CONFIG_VALUE_MAX)
    with pytest.raises(ValidationError, match="the limit is 32768"):
        v.validate_config_value("K", "x" * (v.CONFIG_VALUE_MAX + 1))
    with pytest.raises(ValidationError, match="an app may hold 65536"):
        v.validate_config_total({f"K{i}": "x" * 20000 for i in range(4)})


@pytest.mark.parametrize("quantity", [-1, 101])
def test_quantities_out_of_range(quantity):
    with pytest.raises(ValidationError, match="choose 0 to 100"):
        v.validate_quantity(quantity)


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "nginx:1.27",
        "registry.example.com:5000/team/app:v1.2.3",
        "ghcr.io/acme/api@sha256:" + "a" * 64,
        "localhost/app:latest",
    ],
)
def test_valid_images(image):
    v.validate_image(image)


@pytest.mark.parametrize(
    "image", ["", "UPPER/case", "app:", "app:-bad", "app@sha256:xyz", "a b", "app::tag", "/app"]
)
def test_malformed_images(image):
    with pytest.raises(ValidationError, match="not an image reference"):
        v.validate_image(image)


@pytest.mark.parametrize(
    ("validate", "value"),
    [
        (v.validate_app_name, "billing\n"),
        (v.validate_process_type, "web\n"),
        (v.validate_config_key, "KEY\n"),
        (v.validate_image, "registry.example.com/app:v1\n"),
        (v.validate_image, "registry.example.com/app:v\u0661"),
        (lambda value: v.validate_registry_credential(value, "u", "p"), "ghcr.io\n"),
        (lambda value: v.validate_rolling_update(value, "0"), "25%\n"),
    ],
)
def test_a_trailing_newline_or_a_non_ascii_character_is_refused(validate, value):
    """A `$` also matches before a final newline: such a name passed here and was refused by
    the API server on every resync."""
    with pytest.raises(ValidationError):
        validate(value)


@pytest.mark.parametrize(
    ("text", "number"),
    [("7", 7), ("0012", 12), ("\u00b2", None), ("\u0663", None), ("", None), ("1" * 10, None)],
)
def test_ascii_int_reads_ascii_digits_only_and_bounded(text, number):
    assert v.ascii_int(text) == number
