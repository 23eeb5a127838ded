"""Heroku's list paging: `Range: version ..; max=15, order=desc` in, `Next-Range` out with 206
while more remain (the CLI keeps asking while it gets 206)."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_DEFAULT = 200
MAX_LIMIT = 1000
_RANGE = re.compile(
    r"^\s*(?P<field>\w+)\s*(?P<start>[\[\]]?[^.;\s]*)\s*\.\.\s*(?P<end>[^;\[\]\s]*[\[\]]?)\s*;?(?P<rest>.*)$"
)


@dataclass(frozen=True)
class Range:
    field: str
    after: str = ""  # start value; exclusive when written `]value..`
    max: int = MAX_DEFAULT
    descending: bool = False


def parse_range(header: str, *, fields: tuple[str, ...], default: str) -> Range:
    """Parses loosely, as the CLI writes it in several ways; anything unreadable is ignored."""
    match = _RANGE.match(header or "")
    if not match or match["field"] not in fields:
        return Range(default)
    options = dict(
        part.strip().split("=", 1) for part in re.split(r"[,;]", match["rest"]) if "=" in part
    )
    try:
        limit = max(1, min(int(options.get("max", MAX_DEFAULT)), MAX_LIMIT))
    except ValueError:
        limit = MAX_DEFAULT
    start = match["start"].lstrip("[]")
    return Range(
        match["field"],
        after=start,
        max=limit,
        descending=options.get("order", "asc").strip().lower() == "desc",
    )


def next_range(current: Range, last: str) -> str:
    order = "desc" if current.descending else "asc"
    return f"{current.field} ]{last}..; max={current.max}, order={order}"
