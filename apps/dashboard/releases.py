"""What changed between two releases, as a reviewer wants to read it: the image, which config
keys were added, removed or changed (never their values), and the process commands."""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.platform.models import Release


@dataclass
class Change:
    name: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"


@dataclass
class ReleaseDiff:
    image: Change | None
    config: list[Change] = field(default_factory=list)
    commands: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.image is None and not self.config and not self.commands


def _changes(before: dict[str, str], after: dict[str, str], *, values: bool) -> list[Change]:
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old != new:
            if not values:  # config values are secrets: say that they changed, not to what
                old, new = (None if old is None else "•••"), (None if new is None else "•••")
            changes.append(Change(key, old, new))
    return changes


def release_diff(before: Release, after: Release) -> ReleaseDiff:
    image = Change("image", before.image, after.image) if before.image != after.image else None
    return ReleaseDiff(
        image=image,
        config=_changes(before.config, after.config, values=False),
        commands=_changes(before.commands, after.commands, values=True),
    )
