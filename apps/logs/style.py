"""The text style SGR sequences set, and the HTML attributes that render it."""

from __future__ import annotations

from dataclasses import dataclass, replace

# A colour is an index into the 16 basic and bright colours, styled by CSS classes, or #rrggbb.
Colour = int | str


@dataclass(frozen=True, slots=True)
class Style:
    fg: Colour | None = None
    bg: Colour | None = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False

    def attributes(self) -> str:
        """The attributes of a span in this style, with a leading space; "" for the default.

        Built only from fixed names and integers, so nothing from the input reaches them."""
        classes: list[str] = []
        styles: list[str] = []
        for colour, prefix, prop in ((self.fg, "fg", "color"), (self.bg, "bg", "background-color")):
            if isinstance(colour, int):
                classes.append(f"ansi-{prefix}-{colour}")
            elif colour is not None:
                styles.append(f"{prop}:{colour}")
        flags = (("bold", self.bold), ("dim", self.dim), ("italic", self.italic))
        classes += [f"ansi-{name}" for name, on in (*flags, ("underline", self.underline)) if on]
        attrs = f' class="{" ".join(classes)}"' if classes else ""
        return attrs + (f' style="{";".join(styles)}"' if styles else "")


PLAIN = Style()

_FLAGS: dict[int, dict[str, bool]] = {
    1: {"bold": True},
    2: {"dim": True},
    3: {"italic": True},
    4: {"underline": True},
    22: {"bold": False, "dim": False},
    23: {"italic": False},
    24: {"underline": False},
}


def apply_sgr(style: Style, params: str) -> Style:
    """The style after an SGR sequence; parameters it does not know or cannot read are ignored."""
    codes = params.split(";")
    i = 0
    while i < len(codes):
        code = 0 if codes[i] == "" else _number(codes[i])
        i += 1
        if code in (38, 48):
            colour, used = _extended_colour(codes[i:])
            i += used
            if colour is not None:
                style = replace(style, fg=colour) if code == 38 else replace(style, bg=colour)
        elif code is not None:
            style = _basic(style, code)
    return style


def _basic(style: Style, code: int) -> Style:
    if code == 0:
        return PLAIN
    if code in _FLAGS:
        return replace(style, **_FLAGS[code])
    if 30 <= code <= 37 or 90 <= code <= 97:
        return replace(style, fg=code - 30 if code < 90 else code - 82)
    if 40 <= code <= 47 or 100 <= code <= 107:
        return replace(style, bg=code - 40 if code < 100 else code - 92)
    if code == 39:
        return replace(style, fg=None)
    if code == 49:
        return replace(style, bg=None)
    return style


def _extended_colour(args: list[str]) -> tuple[Colour | None, int]:
    """The colour of 38;5;n or 38;2;r;g;b given what follows 38 (or 48), and how many parameters
    it used; an unknown form uses them all, as no later parameter can be trusted."""
    mode = _number(args[0]) if args else None
    if mode == 5 and len(args) >= 2:
        index = _number(args[1])
        if index is None or index > 255:
            return None, 2
        return (index if index < 16 else xterm_hex(index)), 2
    if mode == 2 and len(args) >= 4:
        rgb = [_number(a) for a in args[1:4]]
        if None in rgb:
            return None, 4
        r, g, b = (min(c or 0, 255) for c in rgb)
        return f"#{r:02x}{g:02x}{b:02x}", 4
    return None, len(args)


def _number(param: str) -> int | None:
    """A parameter's value, or None when it is not a plain decimal number."""
    if not param.isascii() or not param.isdigit():
        return None
    digits = param.lstrip("0")
    # Any value this long is out of range anyway, and int() refuses very long strings.
    return 10**9 if len(digits) > 9 else int(digits or "0")


def xterm_hex(index: int) -> str:
    """The #rrggbb of colour 16 to 255 of the xterm palette: a 6x6x6 cube, then 24 greys."""
    if index >= 232:
        grey = 8 + 10 * (index - 232)
        return f"#{grey:02x}{grey:02x}{grey:02x}"
    cube = index - 16
    r, g, b = (0 if v == 0 else 55 + 40 * v for v in (cube // 36, cube // 6 % 6, cube % 6))
    return f"#{r:02x}{g:02x}{b:02x}"
