"""What every fake vendor's request handler shares.

HTTP/1.1 with keep-alive, as the vendors' front ends answer; Nagle's algorithm off, since
a body written after its headers would otherwise wait out the client's delayed ACK (40 ms
a response on loopback, a cost no vendor's front end has and the benchmarks would count
as the studio's); quiet logs; every method handed to ``route``; JSON answers; a dropped
connection for the faults that cut one.
"""

from __future__ import annotations

import contextlib
import json
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    json_type = "application/json"  # the content type the vendor gives its JSON

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def route(self, method: str) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def do_PUT(self) -> None:
        self.route("PUT")

    def do_DELETE(self) -> None:
        self.route("DELETE")

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """``body`` as JSON (None: no body, as a 204 has)."""
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("content-type", self.json_type)
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def drop(self) -> None:
        """Cut the connection without an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
