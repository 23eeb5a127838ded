"""Splits terminal output into plain text and SGR (colour and style) sequences, dropping every
other escape sequence and control character."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

ESC = "\x1b"

# Everything but C0 controls (tab excepted), DEL, C1 controls and lone surrogates.
_TEXT = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Matched just after ESC. A missing final byte means the sequence was cut short or broken: it is
# dropped up to the offending character, which is then read as ordinary input.
_CSI = re.compile(r"\[([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e]?)")
_NF = re.compile(r"[\x20-\x2f]+[\x30-\x7e]?")
_SGR_PARAMS = re.compile(r"[0-9;:]*")
# OSC, DCS, SOS, PM and APC: strings that run to a terminator.
_STRING_STARTS = frozenset("]PX^_")
# BEL and ST end a string; CAN and SUB abort it; ESC aborts it unless it begins ST (ESC \).
_STRING_END = re.compile(r"[\x07\x18\x1a\x1b\x9c]")


@dataclass(frozen=True, slots=True)
class Sgr:
    """A Select Graphic Rendition sequence: its parameters, such as "1;31"."""

    params: str


def scan(text: str) -> Iterator[str | Sgr]:
    """Yields the non-empty runs of printable text and the SGR sequences of text, in order."""
    pos, end = 0, len(text)
    while pos < end:
        match = _TEXT.match(text, pos)
        if match:
            yield match.group()
            pos = match.end()
            continue
        char = text[pos]
        pos += 1
        if _SURROGATE.match(char):
            # A lone surrogate cannot be encoded as UTF-8, so it would break the whole page.
            yield "\ufffd"
        elif char == ESC:
            pos, sgr = _escape(text, pos)
            if sgr is not None:
                yield sgr


def terminal_safe(text: str) -> str:
    """The text with its colours and nothing else a terminal would act on: no title or
    clipboard strings (OSC), no cursor moves or screen clears, no control characters."""
    return "".join(
        part if isinstance(part, str) else f"{ESC}[{part.params}m" for part in scan(text)
    )


def _escape(text: str, pos: int) -> tuple[int, Sgr | None]:
    """Reads the escape sequence whose ESC ends just before pos: where it ends, and its SGR."""
    if pos >= len(text):
        return pos, None
    char = text[pos]
    if char == "[":
        csi = _CSI.match(text, pos)
        assert csi is not None  # every part of the pattern may be empty
        params, intermediates, final = csi.groups()
        if final == "m" and not intermediates and _SGR_PARAMS.fullmatch(params):
            return csi.end(), Sgr(params)
        return csi.end(), None
    if char in _STRING_STARTS:
        return _string_end(text, pos + 1), None
    nf = _NF.match(text, pos)
    if nf:
        return nf.end(), None
    if "\x30" <= char <= "\x7e":
        return pos + 1, None
    return pos, None


def _string_end(text: str, pos: int) -> int:
    """Where a control string starting at pos ends; an unterminated one runs to the end."""
    end = _STRING_END.search(text, pos)
    if end is None:
        return len(text)
    if end.group() != ESC:
        return end.end()
    if text.startswith("\\", end.end()):
        return end.end() + 1
    return end.start()
