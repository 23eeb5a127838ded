"""Process types as a Procfile lists them: one `name: command` per line."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.platform.validators import validate_process_type

COMMAND_MAX = 4096


def parse_procfile(text: str) -> dict[str, str]:
    commands: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, command = line.partition(":")
        name, command = name.strip(), command.strip()
        if not colon or not command:
            raise ValidationError(
                f"Line {number} should read `name: command`, as in `web: gunicorn app:app`.",
                code="invalid_procfile",
            )
        try:
            validate_process_type(name)
        except ValidationError as error:
            raise ValidationError(f"Line {number}: {error.messages[0]}", code=error.code) from None
        if len(command) > COMMAND_MAX:
            raise ValidationError(
                f"Line {number}: the command is over {COMMAND_MAX} characters.",
                code="invalid_procfile",
            )
        if name in commands:
            raise ValidationError(
                f"Line {number}: {name} is listed twice.", code="invalid_procfile"
            )
        commands[name] = command
    return commands
