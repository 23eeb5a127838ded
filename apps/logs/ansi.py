"""Terminal colours of untrusted log output as safe HTML, or as plain text."""

from __future__ import annotations

import html

from apps.logs.escapes import Sgr, scan
from apps.logs.style import PLAIN, apply_sgr


def ansi_to_html(text: str) -> str:
    """The text escaped for HTML, its SGR colours and styles as spans with ansi-* classes (or an
    inline colour for 256-colour and truecolour), every other escape and control dropped."""
    out: list[str] = []
    style = PLAIN
    open_attrs = ""  # the attributes of the span left open, "" when there is none
    for token in scan(text):
        if isinstance(token, Sgr):
            style = apply_sgr(style, token.params)
            continue
        # Spans open only at text, so a style that changes again before any leaves no span.
        attrs = style.attributes()
        if attrs != open_attrs:
            if open_attrs:
                out.append("</span>")
            if attrs:
                out.append(f"<span{attrs}>")
            open_attrs = attrs
        out.append(html.escape(token, quote=True))
    if open_attrs:
        out.append("</span>")
    return "".join(out)


def ansi_strip(text: str) -> str:
    """The printable text alone, without escape sequences or control characters."""
    return "".join(token for token in scan(text) if isinstance(token, str))
