from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from apps.logs.lines import MAX_LINE, LogLine, heroku_format, merge, parse_kube_line
from apps.platform.logs import resume_point

FALLBACK = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)


def parse(raw: str) -> LogLine:
    return parse_kube_line(raw, dyno="web.1", fallback=FALLBACK)


@pytest.mark.parametrize(
    ("stamp", "micro"),
    [
        ("2026-01-02T03:04:05Z", 0),
        ("2026-01-02T03:04:05.1Z", 100000),
        ("2026-01-02T03:04:05.123Z", 123000),
        ("2026-01-02T03:04:05.123456Z", 123456),
        ("2026-01-02T03:04:05.123456789Z", 123456),
        ("2026-01-02T03:04:05.999999999Z", 999999),
    ],
)
def test_fractional_digits(stamp, micro):
    line = parse(f"{stamp} hello\n")
    assert line == LogLine(
        datetime(2026, 1, 2, 3, 4, 5, micro, tzinfo=UTC), "app", "web.1", "hello"
    )
    assert line.timestamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-01-02T03:04:05+02:00", datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05.5-05:30", datetime(2026, 1, 2, 8, 34, 5, 500000, tzinfo=UTC)),
        ("2026-01-01T23:30:00-01:00", datetime(2026, 1, 2, 0, 30, tzinfo=UTC)),
        ("2026-01-02t03:04:05z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ],
)
def test_offsets_are_converted_to_utc(stamp, expected):
    line = parse(f"{stamp} msg")
    assert line.timestamp == expected
    assert line.timestamp.tzinfo is UTC
    assert line.text == "msg"


def test_only_one_separating_space_is_removed():
    assert parse("2026-01-02T03:04:05Z   indented\r\n").text == "  indented"


def test_a_timestamp_alone_gives_empty_text():
    line = parse("2026-01-02T03:04:05.000000001Z\n")
    assert (line.timestamp, line.text) == (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "")


@pytest.mark.parametrize(
    "raw",
    [
        "plain output",
        "",
        "2026-01-02 03:04:05Z space instead of T",
        "2026-01-02T03:04:05 no zone",
        "2026-01-02T03:04:05Zglued",
        "2026-13-02T03:04:05Z bad month",
        "2026-02-30T03:04:05Z bad day",
        "2026-01-02T24:04:05Z bad hour",
        "2026-01-02T03:04:05.1234567890Z ten digits",
        "2026-01-02T03:04:05+24:00 offset too large",
        "2026-01-02T03:04:05+01:60 bad offset minutes",
        "٢٠٢٦-01-02T03:04:05Z non-ASCII digits",
        " 2026-01-02T03:04:05Z leading space",
    ],
)
def test_unparsable_timestamps_fall_back_and_keep_the_line(raw):
    line = parse(raw + "\n")
    assert line.timestamp == FALLBACK
    assert line.text == raw


def test_the_fallback_is_converted_to_utc():
    fallback = datetime(2026, 1, 2, 5, 0, tzinfo=timezone(timedelta(hours=2)))
    line = parse_kube_line("x", dyno="worker.2", fallback=fallback)
    assert line.timestamp == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    assert line.timestamp.tzinfo is UTC
    assert line.dyno == "worker.2"


def test_a_naive_fallback_is_refused():
    with pytest.raises(ValueError, match="aware"):
        parse_kube_line("x", dyno="web.1", fallback=datetime(2026, 1, 2))


def test_long_lines_are_truncated_with_an_ellipsis():
    line = parse("2026-01-02T03:04:05Z " + "x" * (MAX_LINE + 50))
    assert len(line.text) == MAX_LINE
    assert line.text == "x" * (MAX_LINE - 1) + "…"


def test_a_line_of_exactly_the_maximum_is_kept_whole():
    assert parse("y" * MAX_LINE + "\n").text == "y" * MAX_LINE


def test_trailing_line_breaks_are_removed_but_inner_ones_kept():
    assert parse("2026-01-02T03:04:05Z a\rb\r\n").text == "a\rb"


def at(second: int, text: str, dyno: str = "web.1") -> LogLine:
    return LogLine(datetime(2026, 1, 2, 3, 4, second, tzinfo=UTC), "app", dyno, text)


def test_merge_orders_by_time():
    web = [at(1, "w1", "web.1"), at(4, "w4", "web.1"), at(6, "w6", "web.1")]
    worker = [at(2, "k2", "worker.1"), at(3, "k3", "worker.1"), at(7, "k7", "worker.1")]
    api = [at(5, "a5", "api")]
    assert [line.text for line in merge(web, worker, api)] == [
        "w1",
        "k2",
        "k3",
        "w4",
        "a5",
        "w6",
        "k7",
    ]


def test_merge_is_stable_on_ties():
    first = [at(1, "a1"), at(1, "a2"), at(2, "a3")]
    second = [at(1, "b1"), at(2, "b2")]
    third = [at(1, "c1")]
    assert [line.text for line in merge(first, second, third)] == [
        "a1",
        "a2",
        "b1",
        "c1",
        "a3",
        "b2",
    ]


def test_merge_is_lazy_and_handles_empty_streams():
    def endless():
        second = 0
        while True:
            yield at(second % 60, str(second))
            second += 1

    merged = merge([], endless(), iter([at(0, "x")]))
    assert [line.text for line in (next(merged), next(merged), next(merged))] == ["0", "x", "1"]
    assert list(merge()) == []


def test_merge_compares_instants_across_offsets():
    plus_two = timezone(timedelta(hours=2))
    early = LogLine(datetime(2026, 1, 2, 4, 0, tzinfo=plus_two), "app", "web.1", "early")
    late = LogLine(datetime(2026, 1, 2, 3, 0, tzinfo=UTC), "app", "web.2", "late")
    assert [line.text for line in merge([late], [early])] == ["early", "late"]


def test_heroku_format():
    line = LogLine(datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), "app", "web.1", "GET /")
    assert heroku_format(line) == "2026-01-02T03:04:05.123456+00:00 app[web.1]: GET /"


def test_heroku_format_pads_microseconds_and_converts_to_utc():
    stamp = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    line = LogLine(stamp, "paas", "api", "Deployed x as v3 by user a@b.c")
    assert heroku_format(line) == (
        "2026-01-02T03:04:05.000000+00:00 paas[api]: Deployed x as v3 by user a@b.c"
    )


def test_heroku_format_keeps_colours_and_drops_line_breaks():
    line = LogLine(
        datetime(2026, 1, 2, tzinfo=UTC), "app", "worker.3", "\x1b[31mred\x1b[0m\r\nnext"
    )
    assert heroku_format(line) == (
        "2026-01-02T00:00:00.000000+00:00 app[worker.3]: \x1b[31mred\x1b[0mnext"
    )


def test_heroku_format_keeps_colours_and_drops_what_a_terminal_would_act_on():
    """The CLI writes each line to the user's terminal as it comes: an app's log must not set
    the window title or the clipboard (OSC), move the cursor or clear the screen."""
    text = (
        "\x1b[31mred\x1b[0m \x1b]0;owned\x07\x1b]52;c;cm0gLXJmIC8=\x07\x1b[2J\x1b[Hok\x08\x1bc\tend"
    )
    line = LogLine(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "app", "web.1", text)
    assert heroku_format(line).endswith("app[web.1]: \x1b[31mred\x1b[0m ok\tend")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a time",
        "2026-01-02T03:04:05\n",
        "\u0662026-01-02",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59",
        "1" * 500,
    ],
)
def test_a_malformed_or_far_off_last_event_id_is_no_resume_point(text):
    """It reached the follow threads, where a naive or year-1 time raised in every thread."""
    assert resume_point(text) is None


def test_a_recent_last_event_id_resumes_there_in_utc():
    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    naive = recent.replace(tzinfo=None).isoformat()
    assert resume_point(naive) == recent
    assert resume_point(recent.isoformat()) == recent
