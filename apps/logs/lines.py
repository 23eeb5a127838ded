"""Log lines: read from Kubernetes pod logs, merged across dynos, written in Heroku's format."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from apps.logs.escapes import terminal_safe

MAX_LINE = 10_000

# RFC 3339 as the kubelet writes it with timestamps=true, then one space before the message.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
    r"(?:[Zz]|([+-])(\d\d):(\d\d))(?: |\Z)",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class LogLine:
    timestamp: datetime  # aware, in UTC
    source: str  # "app" for dyno output, "paas" for platform events
    dyno: str  # e.g. "web.1", or "api" for platform events
    text: str


def parse_kube_line(raw: str, *, dyno: str, fallback: datetime) -> LogLine:
    """A line of `kubectl logs --timestamps` output; fallback (aware) is its time when the line
    has no timestamp that can be read, and the whole line is then its text."""
    if fallback.tzinfo is None or fallback.utcoffset() is None:
        raise ValueError("The fallback time must be timezone-aware.")
    line = raw.rstrip("\r\n")
    timestamp = fallback.astimezone(UTC)
    match = _TIMESTAMP.match(line)
    if match:
        parsed = _timestamp(match)
        if parsed is not None:
            timestamp, line = parsed, line[match.end() :]
    if len(line) > MAX_LINE:
        line = line[: MAX_LINE - 1] + "…"
    return LogLine(timestamp=timestamp, source="app", dyno=dyno, text=line)


def _timestamp(match: re.Match[str]) -> datetime | None:
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    try:
        offset = UTC
        if sign:
            if int(off_m) > 59:
                return None
            delta = timedelta(hours=int(off_h), minutes=int(off_m))
            offset = timezone(-delta if sign == "-" else delta)
        # Python keeps microseconds: nanoseconds are truncated, not rounded, as Go formats them.
        micro = int((fraction or "").ljust(6, "0")[:6])
        parts = (int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
        return datetime(*parts, tzinfo=offset).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def merge(*streams: Iterable[LogLine]) -> Iterator[LogLine]:
    """One stream in time order from streams each already in time order; lines at the same time
    keep the order of their streams, then their order within a stream."""
    return heapq.merge(*streams, key=lambda line: line.timestamp)


def heroku_format(line: LogLine) -> str:
    """The line as `heroku logs` prints it: 2026-01-02T03:04:05.123456+00:00 app[web.1]: text.

    ANSI colours stay, as the CLI renders them; every other escape sequence and control
    character goes (line breaks too, as each line must be one line), since the CLI writes the
    line to the user's terminal as it is."""
    timestamp = line.timestamp.astimezone(UTC).isoformat(timespec="microseconds")
    text = terminal_safe(line.text)
    return f"{timestamp} {line.source}[{line.dyno}]: {text}"
