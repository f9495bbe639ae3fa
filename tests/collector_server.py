"""A scripted HTTP server on 127.0.0.1 for the collector tests (never the internet).

``ScriptedServer(route)`` serves every GET with ``route(path, params) -> Reply`` and
records ``(path, params)``; :func:`script` answers the first requests from a list.
:class:`BinanceKlines` plays ``/api/v3/klines`` over a list of bars the way Binance
pages them (open time in [startTime, endTime], at most ``limit``, oldest first).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    """One scripted response. ``body``: bytes as-is, anything else as JSON.

    ``content_length`` overrides the header (a larger value = a body cut short);
    ``delay_s`` sleeps before answering (a timeout when above the client's).
    """

    status: int = 200
    body: object = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_length: int | None = None


Route = Callable[[str, dict[str, str]], Reply]


def script(*replies: Reply, then: Route) -> Route:
    """A route answering the first requests with ``replies`` in order, then with ``then``."""
    queue = list(replies)
    lock = threading.Lock()

    def route(path: str, params: dict[str, str]) -> Reply:
        with lock:
            if queue:
                return queue.pop(0)
        return then(path, params)

    return route


class BinanceKlines:
    """``/api/v3/klines`` over ``bars`` = [(open_ms, open, high, low, close, volume), ...] (text values)."""

    def __init__(self, bars: list[tuple], interval_ms: int):
        self.bars, self.interval_ms = bars, interval_ms

    def __call__(self, path: str, params: dict[str, str]) -> Reply:
        if path != "/api/v3/klines":
            return Reply(404, {"code": -1, "msg": f"no route {path}"})
        start, end, limit = int(params["startTime"]), int(params["endTime"]), int(params["limit"])
        rows = [
            [t, o, h, lo, c, v, t + self.interval_ms - 1, "0", 1, "0", "0", "0"]
            for t, o, h, lo, c, v in self.bars
            if start <= t <= end
        ]
        return Reply(200, rows[:limit])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's name)
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query))
        server: ScriptedServer = self.server.scripted
        server.requests.append((parts.path, params))
        reply = server.route(parts.path, params)
        body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        if reply.delay_s:
            time.sleep(reply.delay_s)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header(
                "Content-Length", str(reply.content_length if reply.content_length is not None else len(body))
            )
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.content_length is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            self.close_connection = True

    def log_message(self, *args):  # keep pytest output clean
        pass


class ScriptedServer:
    """``with ScriptedServer(route) as server:`` serves on ``server.url`` in a daemon thread."""

    def __init__(self, route: Route):
        self.route = route
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.scripted = self
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
