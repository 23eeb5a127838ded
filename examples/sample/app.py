"""The sample app the platform's tests deploy: a web process, a worker and a release phase.

Standard library only, so it runs on any Python 3.11 without installing anything. Config vars
arrive as environment variables; a few of them switch faults on (see README.md).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_output = threading.Lock()


def say(message: str, *, stream: str = "stdout") -> None:
    # One write per line under a lock: print() writes the text and its newline apart, so two
    # threads' lines could run together. Flushed at once: the log view shows lines as written.
    out = sys.stderr if stream == "stderr" else sys.stdout
    with _output:
        out.write(message + "\n")
        out.flush()


def switch(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def release() -> str:
    return os.environ.get("PAAS_RELEASE_VERSION") or "-"


def tick_seconds() -> float:
    return float(os.environ.get("SAMPLE_TICK_SECONDS") or 5)


def image_version() -> str | None:
    """The image's own mark (/app/VERSION), which tells apart two images of the same code."""
    try:
        return (Path(__file__).parent / "VERSION").read_text().strip() or None
    except OSError:
        return None


class Stopping(threading.Event):
    """Set once SIGTERM or SIGINT arrives; the threads that tick wait on it."""

    SIGNALS = {signal.SIGTERM, signal.SIGINT}

    def __init__(self) -> None:
        super().__init__()
        # Blocked before any thread starts, so every thread inherits the mask and the main thread
        # alone takes the signal, with sigwait: no handler ever runs in the middle of other code.
        signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)

    def wait_for_signal(self) -> None:
        received = signal.sigwait(self.SIGNALS)
        say(f"stopping on {signal.Signals(received).name}")
        self.set()


def start_thread(target: Callable[..., object], *args: object) -> None:
    # Daemon threads: none of them may hold the process up once it is asked to stop.
    threading.Thread(target=target, args=args, daemon=True).start()


def burn_cpu() -> None:
    while True:
        pass


def tick(stopping: Stopping, line: str) -> None:
    while not stopping.wait(tick_seconds()):
        say(line)


def crash_if_asked() -> None:
    if switch("SAMPLE_CRASH_ON_START"):
        say("crashing on start as SAMPLE_CRASH_ON_START asks", stream="stderr")
        sys.exit(1)


class Handler(BaseHTTPRequestHandler):
    server_version = "sample"
    failing = False  # SAMPLE_FAIL_HEALTHCHECK, read once at start as a config change restarts

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if self.failing:
            self.answer(503, b"failing as SAMPLE_FAIL_HEALTHCHECK asks\n", "text/plain")
        elif path == "/healthz":
            self.answer(200, b"ok\n", "text/plain")
        elif path == "/":
            body = {
                "app": os.environ.get("PAAS_APP"),
                "release": os.environ.get("PAAS_RELEASE_VERSION"),
                "process": os.environ.get("PAAS_PROCESS_TYPE"),
                "greeting": os.environ.get("GREETING", "hello"),
                "hostname": socket.gethostname(),
                "image": image_version(),
            }
            self.answer(200, json.dumps(body).encode() + b"\n", "application/json")
        else:
            self.answer(404, b"not found\n", "text/plain")

    def answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        say(f"request {self.command} {self.path} {status} release={release()}")

    def log_message(self, format: str, *args: object) -> None:
        """Silences the standard library's access log: answer() writes one line of its own."""


def web() -> int:
    crash_if_asked()
    stopping = Stopping()
    Handler.failing = switch("SAMPLE_FAIL_HEALTHCHECK")
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT") or 5000)), Handler)
    server.daemon_threads = True
    # serve_forever runs in a thread of its own: shutdown() from the main thread waits for it.
    start_thread(server.serve_forever, 0.1)
    if switch("SAMPLE_BURN_CPU"):
        start_thread(burn_cpu)
    greeting = os.environ.get("GREETING", "hello")
    start_thread(tick, stopping, f"tick release={release()} greeting={greeting}")
    say(f"listening on 0.0.0.0:{server.server_address[1]} release={release()}")
    stopping.wait_for_signal()
    server.shutdown()
    server.server_close()
    return 0


def worker() -> int:
    crash_if_asked()
    stopping = Stopping()
    if switch("SAMPLE_BURN_CPU"):
        start_thread(burn_cpu)
    say(f"worker started release={release()}")
    start_thread(tick, stopping, f"worker tick release={release()}")
    stopping.wait_for_signal()
    return 0


def release_phase() -> int:
    if switch("SAMPLE_FAIL_RELEASE"):
        say("release phase failing as SAMPLE_FAIL_RELEASE asks", stream="stderr")
        return 1
    say(f"release phase release={release()}")
    return 0


COMMANDS = {"web": web, "worker": worker, "release": release_phase}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in COMMANDS:
        say(f"usage: {argv[0]} {'|'.join(COMMANDS)}", stream="stderr")
        return 2
    return COMMANDS[argv[1]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
