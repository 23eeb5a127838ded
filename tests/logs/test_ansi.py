from __future__ import annotations

import html
import random
import re

import pytest

from apps.logs.ansi import ansi_strip, ansi_to_html
from apps.logs.style import xterm_hex

E = "\x1b"
SPAN_TAG = re.compile(r'<span(?: class="[a-z0-9 -]+")?(?: style="[a-z#0-9:;-]+")?>|</span>')


def assert_well_formed(out: str) -> None:
    depth = 0
    for tag in SPAN_TAG.findall(out):
        depth += -1 if tag == "</span>" else 1
        assert depth in (0, 1), out  # spans are never nested
    assert depth == 0, out
    assert not re.search(r"<span[^>]*></span>", out), out
    text = SPAN_TAG.sub("", out)
    assert "<" not in text, out
    assert ">" not in text, out


def test_plain_text_passes_through():
    assert ansi_to_html("hello world\tx") == "hello world\tx"


def test_markup_and_quotes_are_escaped():
    out = ansi_to_html("<script>alert(1)</script> \"a\" 'b' & c")
    assert out == ("&lt;script&gt;alert(1)&lt;/script&gt; &quot;a&quot; &#x27;b&#x27; &amp; c")


def test_markup_inside_a_coloured_run_is_escaped():
    out = ansi_to_html(f'{E}[31m<img src=x onerror="alert(1)">{E}[0m')
    assert out == ('<span class="ansi-fg-1">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</span>')


def test_basic_colours_and_reset():
    out = ansi_to_html(f"a{E}[31mred{E}[0mb{E}[mc")
    assert out == 'a<span class="ansi-fg-1">red</span>bc'


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("30", "ansi-fg-0"),
        ("37", "ansi-fg-7"),
        ("90", "ansi-fg-8"),
        ("97", "ansi-fg-15"),
        ("40", "ansi-bg-0"),
        ("47", "ansi-bg-7"),
        ("100", "ansi-bg-8"),
        ("107", "ansi-bg-15"),
        ("1", "ansi-bold"),
        ("2", "ansi-dim"),
        ("3", "ansi-italic"),
        ("4", "ansi-underline"),
    ],
)
def test_each_code_sets_its_class(code, cls):
    assert ansi_to_html(f"{E}[{code}mx") == f'<span class="{cls}">x</span>'


def test_combined_styles_in_one_sequence_and_across_sequences():
    assert ansi_to_html(f"{E}[1;4;32;41mx") == (
        '<span class="ansi-fg-2 ansi-bg-1 ansi-bold ansi-underline">x</span>'
    )
    out = ansi_to_html(f"{E}[1ma{E}[31mb{E}[22mc{E}[39md")
    assert out == (
        '<span class="ansi-bold">a</span><span class="ansi-fg-1 ansi-bold">b</span>'
        '<span class="ansi-fg-1">c</span>d'
    )


def test_attributes_turn_off_one_by_one():
    out = ansi_to_html(f"{E}[1;2;3;4;44ma{E}[22mb{E}[23mc{E}[24md{E}[49me")
    assert out == (
        '<span class="ansi-bg-4 ansi-bold ansi-dim ansi-italic ansi-underline">a</span>'
        '<span class="ansi-bg-4 ansi-italic ansi-underline">b</span>'
        '<span class="ansi-bg-4 ansi-underline">c</span>'
        '<span class="ansi-bg-4">d</span>e'
    )


def test_reset_mid_line_and_empty_parameter_resets():
    assert ansi_to_html(f"{E}[1;31mERR{E}[0m: done") == (
        '<span class="ansi-fg-1 ansi-bold">ERR</span>: done'
    )
    assert ansi_to_html(f"{E}[31m{E}[;1mx") == '<span class="ansi-bold">x</span>'


def test_a_repeated_style_keeps_one_span():
    assert ansi_to_html(f"{E}[31ma{E}[31mb{E}[1m{E}[22mc") == '<span class="ansi-fg-1">abc</span>'


def test_no_empty_spans():
    assert ansi_to_html(f"{E}[31m{E}[0m") == ""
    assert ansi_to_html(f"a{E}[1m{E}[32m{E}[0mb{E}[4m") == "ab"


def test_256_colours():
    assert ansi_to_html(f"{E}[38;5;1mx") == '<span class="ansi-fg-1">x</span>'
    assert ansi_to_html(f"{E}[48;5;15mx") == '<span class="ansi-bg-15">x</span>'
    assert ansi_to_html(f"{E}[38;5;196mx") == '<span style="color:#ff0000">x</span>'
    assert ansi_to_html(f"{E}[48;5;16mx") == '<span style="background-color:#000000">x</span>'
    assert ansi_to_html(f"{E}[1;38;5;232;48;5;21mx") == (
        '<span class="ansi-bold" style="color:#080808;background-color:#0000ff">x</span>'
    )


@pytest.mark.parametrize(
    ("index", "rgb"),
    [
        (16, "#000000"),
        (17, "#00005f"),
        (67, "#5f87af"),
        (231, "#ffffff"),
        (244, "#808080"),
        (255, "#eeeeee"),
    ],
)
def test_xterm_palette(index, rgb):
    assert xterm_hex(index) == rgb


def test_truecolour_is_clamped():
    assert ansi_to_html(f"{E}[38;2;255;128;0mx") == '<span style="color:#ff8000">x</span>'
    assert ansi_to_html(f"{E}[48;2;300;0;99999999999999999999mx") == (
        '<span style="background-color:#ff00ff">x</span>'
    )


def test_parameters_after_an_extended_colour_still_apply():
    assert ansi_to_html(f"{E}[38;2;1;2;3;1mx") == (
        '<span class="ansi-bold" style="color:#010203">x</span>'
    )


def test_default_colours_drop_extended_ones():
    assert ansi_to_html(f"{E}[38;5;200;48;2;1;1;1ma{E}[39;49mb") == (
        '<span style="color:#ff00d7;background-color:#010101">a</span>b'
    )


@pytest.mark.parametrize(
    "sequence",
    [
        "[38;5m",
        "[38;5;m",
        "[38;5;256m",
        "[38;5;x",
        "[38;2;1;2m",
        "[38;2;1;;3m",
        "[38m",
        "[38;9;1m",
        "[999m",
        "[5;7;8;9m",
        "[38:2:255:0:0m",
        "[>4;2m",
        "[?25h",
        "[2J",
        "[1;1H",
        "[K",
        "[38;5;1;2;3;4;5;6;7;8;9;0;1;2;3;4;5;6;7;8;9;0;1;2;3;4z",
        "(B",
        "7",
        "]0;title\x07",
        "\x7f",
    ],
)
def test_malformed_or_unsupported_sequences_are_dropped(sequence):
    assert ansi_to_html(f"a{E}{sequence}b") == "ab"
    assert ansi_strip(f"a{E}{sequence}b") == "ab"


@pytest.mark.parametrize("tail", ["[", "[31", "[38;5;", "]8;;http://x", "(", ""])
def test_sequences_cut_short_at_the_end_are_dropped(tail):
    assert ansi_to_html(f"{E}[32mok{E}{tail}") == '<span class="ansi-fg-2">ok</span>'


def test_a_huge_parameter_is_ignored_without_error():
    assert ansi_to_html(f"{E}[{'9' * 5000};1mx") == '<span class="ansi-bold">x</span>'


def test_a_broken_csi_leaves_the_following_text():
    assert ansi_to_html(f"{E}[31\u00e9t\u00e9") == "\u00e9t\u00e9"


def test_osc_hyperlink_with_javascript_url_is_stripped():
    text = f"{E}]8;;javascript:alert(1){E}\\click{E}]8;;{E}\\ here"
    out = ansi_to_html(text)
    assert out == "click here"
    assert "javascript" not in out


def test_bel_terminated_osc_is_stripped():
    assert ansi_to_html(f"{E}]0;<b>title</b>\x07text") == "text"
    assert ansi_to_html(f"{E}]8;;https://x\x07link{E}]8;;\x07") == "link"


def test_an_escape_inside_osc_ends_it_and_starts_a_sequence():
    assert ansi_to_html(f"{E}]0;title{E}[31mred") == '<span class="ansi-fg-1">red</span>'


def test_an_unterminated_osc_swallows_the_rest():
    assert ansi_to_html(f"keep{E}]8;;http://evil <b>") == "keep"


def test_other_control_strings_are_stripped():
    assert ansi_to_html(f"a{E}Pq#0;2;0;0;0{E}\\b{E}_apc\x9cc") == "abc"


def test_control_characters_are_removed_but_tab_kept():
    controls = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c != 0x1B)
    assert ansi_to_html(f"a{controls}b") == "a\tb"
    assert ansi_strip("x\r\n\x08\x00y") == "xy"


def test_c1_csi_is_not_a_way_in():
    assert ansi_to_html("\x9b31m<x>") == "31m&lt;x&gt;"


def test_lone_escape_and_two_character_escapes_are_dropped():
    assert ansi_to_html(f"a{E}\tb{E}") == "a\tb"
    assert ansi_to_html(f"a{E}7b{E}8c{E}Md") == "abcd"


def test_lone_surrogates_become_replacement_characters():
    out = ansi_to_html("a\ud800b")
    assert out == "a\ufffdb"
    out.encode()


def test_strip_removes_every_escape():
    text = f"{E}[1;31mERR{E}[0m {E}]8;;http://x{E}\\link{E}]8;;{E}\\ <b>&{E}[2K"
    assert ansi_strip(text) == "ERR link <b>&"


def test_unicode_text_is_kept():
    assert ansi_to_html(f"{E}[35m日本語 ✓ é{E}[0m") == '<span class="ansi-fg-5">日本語 ✓ é</span>'


PIECES = [
    E,
    E,
    E,
    "[",
    "[",
    "]",
    "m",
    "m",
    ";",
    ";",
    ":",
    "?",
    ">",
    "(",
    "\\",
    "\x07",
    "\x9c",
    "\x9b",
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "8",
    "9",
    "38",
    "48",
    "255",
    "256",
    "22",
    "39",
    "107",
    "<",
    ">",
    "&",
    '"',
    "'",
    "<script>",
    "</span>",
    "<span>",
    "&lt;",
    "&#x27;",
    "&amp;",
    "a",
    "Z",
    " ",
    "\t",
    "\n",
    "\r",
    "\x00",
    "\x7f",
    "\x85",
    "é",
    "日",
    "\ud83d",
    "javascript:",
    "8;;",
    "P",
    "_",
    "X",
    "^",
]


def test_random_input_never_yields_markup_of_its_own():
    rng = random.Random(20260102)
    for _ in range(3000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 40)))
        out = ansi_to_html(text)
        assert_well_formed(out)
        plain = SPAN_TAG.sub("", out)
        assert html.unescape(plain) == ansi_strip(text), repr(text)
        stripped = ansi_strip(text)
        assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]", stripped), repr(text)
        out.encode()  # always valid UTF-8


def test_random_sgr_sequences_are_well_formed():
    rng = random.Random(7)
    params = [
        "",
        "0",
        "1",
        "2",
        "3",
        "4",
        "22",
        "23",
        "24",
        "31",
        "39",
        "42",
        "49",
        "95",
        "103",
        "38",
        "48",
        "5",
        "2",
        "196",
        "12",
        "300",
        "x",
    ]
    for _ in range(2000):
        parts = []
        for _ in range(rng.randrange(1, 8)):
            seq = ";".join(rng.choice(params) for _ in range(rng.randrange(0, 6)))
            parts.append(f"{E}[{seq}m" + rng.choice(["", "t", "<>"]))
        out = ansi_to_html("".join(parts))
        assert_well_formed(out)
