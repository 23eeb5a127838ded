"""The dashboard's forms check shape (required, integer); the services check meaning, and their
ValidationErrors land on the same forms so every error shows inline next to its field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.platform.procfile import parse_procfile
from apps.platform.validators import QUANTITY_MAX


class ServiceForm(forms.Form):
    """A form whose service call may still refuse the input."""

    def add_service_error(self, error: ValidationError, field: str | None = None) -> None:
        self.add_error(field, error.messages)


class AppCreateForm(ServiceForm):
    name = forms.CharField(
        max_length=30,
        help_text="3 to 30 lowercase letters, digits and dashes, starting with a letter.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    team = forms.ChoiceField()

    def __init__(self, *args: Any, teams: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team = self.fields["team"]
        assert isinstance(team, forms.ChoiceField)
        team.choices = [(t, t) for t in teams]


class ScaleForm(ServiceForm):
    process = forms.CharField(max_length=30)
    quantity = forms.IntegerField(min_value=0, max_value=QUANTITY_MAX, required=False)
    size = forms.CharField(max_length=40, required=False)


class AutoscaleForm(ServiceForm):
    process = forms.CharField(max_length=30)
    enabled = forms.BooleanField(required=False)
    minimum = forms.IntegerField(min_value=1, max_value=QUANTITY_MAX, required=False)
    maximum = forms.IntegerField(min_value=1, max_value=QUANTITY_MAX, required=False)
    cpu_percent = forms.IntegerField(min_value=1, max_value=100, initial=70, required=False)


class RestartForm(ServiceForm):
    target = forms.CharField(max_length=64, required=False)


class ConfigVarForm(ServiceForm):
    key = forms.CharField(
        max_length=256, widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})
    )
    value = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 1, "spellcheck": "false"})
    )


class DeployForm(ServiceForm):
    image = forms.CharField(
        max_length=512,
        help_text="An image reference, such as registry.example.com/shop:v2 or one with @sha256:…",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(max_length=200, required=False)
    procfile = forms.CharField(
        required=False,
        label="Process types (Procfile)",
        help_text="Optional, one `name: command` per line; left empty, the commands stay.",
        widget=forms.Textarea(
            attrs={"rows": 3, "spellcheck": "false", "placeholder": "web: gunicorn app:app"}
        ),
    )

    def clean_procfile(self) -> dict[str, str]:
        return parse_procfile(self.cleaned_data["procfile"])


class RegistryLoginForm(ServiceForm):
    registry = forms.CharField(
        max_length=253,
        help_text="As image references name it, such as ghcr.io or registry.example.com:5000.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    username = forms.CharField(
        max_length=255, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    password = forms.CharField(
        label="Password or token",
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class RenameForm(ServiceForm):
    name = forms.CharField(
        max_length=30,
        label="New name",
        help_text="Its namespace and dynos stay; the old name stays reserved for them.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class DestroyForm(ServiceForm):
    confirm = forms.CharField(max_length=30, label="Type the app's name to confirm")

    def __init__(self, *args: Any, app_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app_name = app_name

    def clean_confirm(self) -> str:
        value: str = self.cleaned_data["confirm"]
        if value != self.app_name:
            raise ValidationError(f"Type {self.app_name} to destroy this app.")
        return value


class TeamForm(ServiceForm):
    name = forms.SlugField(max_length=50, help_text="Lowercase letters, digits and dashes.")


class MemberForm(ServiceForm):
    user = forms.CharField(max_length=150, label="Username or email")
    role = forms.ChoiceField(choices=[("member", "member"), ("admin", "admin")], required=False)
    remove = forms.BooleanField(required=False)

    def clean_role(self) -> str:
        return self.cleaned_data.get("role") or "member"
