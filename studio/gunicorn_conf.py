"""gunicorn settings that its command line cannot express.

Idle keep-alive connections are kept longer than the common HTTP clients reuse an idle
socket (Node's fetch: 4 s, httpx and requests: 5 s, proxies and load balancers: 60 s),
and the server says how long in a ``Keep-Alive`` header (RFC 9112 §9.3; Node reads
it), so a client never sends a request into a socket the server is closing. gunicorn
drops hop-by-hop headers an application sets, so the header is added here, where
gunicorn writes its own.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.http import wsgi

keepalive = int(os.environ.get("WEB_KEEPALIVE", "75"))

_default_headers = wsgi.Response.default_headers


def _default_headers_with_keep_alive(self: Any) -> list[str]:
    headers: list[str] = _default_headers(self)
    if not self.upgrade and not self.should_close():
        headers.append(f"Keep-Alive: timeout={self.cfg.keepalive}\r\n")
    return headers


wsgi.Response.default_headers = _default_headers_with_keep_alive
