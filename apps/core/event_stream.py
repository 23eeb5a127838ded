"""A log tail served as Server-Sent Events, by whichever server runs the site.

Under ASGI (the web process serves every view marked `streams` so, paas/asgi.py) the stream is
iterated on the event loop and holds no thread while it waits; under WSGI (Django's development
and test servers) it holds one, as any streaming response there does. Either way the response
holds one of its user's stream slots until the server closes it, which it does whether or not
the stream ever started."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TypeVar

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

from apps.logs.lines import LogLine
from apps.platform.logs import StreamSlot, Tail

# An event for a line, or None to leave the line out.
Render = Callable[[LogLine], str | None]
View = TypeVar("View", bound=Callable[..., object])


def streams(view: View) -> View:
    """Marks a view that answers with a TailStream: paas/asgi.py serves it on the event loop."""
    view.streams = True  # type: ignore[attr-defined]
    return view


def _lines(tail: Tail, head: Iterable[str], render: Render, idle: str) -> Iterator[str]:
    yield from head
    for line in tail:
        text = idle if line is None else render(line)
        if text:
            yield text


async def _lines_async(
    tail: Tail, head: Iterable[str], render: Render, idle: str
) -> AsyncIterator[str]:
    for first in head:
        yield first
    async for line in tail:
        text = idle if line is None else render(line)
        if text:
            yield text


class TailStream(StreamingHttpResponse):
    """`head` goes first (the retry interval, the recent lines), then each line of the tail as
    `render` makes it, and `idle` after a quiet second: a write to a closed connection is how
    a WSGI server learns that its client has gone."""

    def __init__(
        self,
        request: HttpRequest,
        slot: StreamSlot,
        tail: Tail,
        *,
        render: Render,
        head: Iterable[str] = (),
        idle: str = ": idle\n\n",
    ) -> None:
        lines = _lines_async if isinstance(request, ASGIRequest) else _lines
        super().__init__(lines(tail, head, render, idle), content_type="text/event-stream")
        self.slot, self.tail = slot, tail
        self["Cache-Control"] = "no-cache"
        self["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the lines back

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.tail.close()
            self.slot.release()
