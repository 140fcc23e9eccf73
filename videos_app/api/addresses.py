"""The one address-safety (SSRF) guard for every outbound request a user's URL decides.

``pin()`` resolves a URL's host, checks every address it resolves to, and answers the URL
rewritten to the first one, with the ``Host`` header and TLS name to send, so the
connection goes to the checked address and a second DNS answer cannot swap it. Used by
``image_url`` fetching (``api.fetch``) and webhook delivery (``webhooks.outbound``); each
words the refusal for its own reader from ``AddressRefused.reason``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

Resolver = Callable[[str, int], list[str]]
AddressCheck = Callable[[str], bool]
Reason = Literal["scheme", "port", "host", "unresolved", "private"]


class AddressRefused(Exception):
    """The URL may not be connected to; ``reason`` says why, ``host`` names its host."""

    def __init__(self, reason: Reason, host: str = "") -> None:
        super().__init__(reason, host)
        self.reason: Reason = reason
        self.host = host


@dataclass(frozen=True)
class Target:
    url: str  # what is connected to: the checked address in place of the name
    host_header: str
    sni_hostname: str | None

    @property
    def extensions(self) -> dict[str, str]:
        """httpx request extensions: SNI and certificate checks keep the URL's name."""
        return {"sni_hostname": self.sni_hostname} if self.sni_hostname else {}


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused("unresolved", host) from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_allowed(address: str) -> bool:
    """Only globally routable unicast addresses: no private, loopback, link-local, ..."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def any_address(address: str) -> bool:
    """The check for callers allowed private targets (staff webhooks)."""
    return True


def pin(
    url: str, *, resolver: Resolver | None = None, allowed: AddressCheck | None = None
) -> Target:
    """Where a request to ``url`` (http or https) connects, or AddressRefused.

    ``allowed`` defaults to ``address_allowed``, looked up when called (tests swap it)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise AddressRefused("scheme")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise AddressRefused("port") from exc
    host = parts.hostname
    if not host or parts.username is not None or parts.password is not None:
        raise AddressRefused("host")
    try:
        addresses = (resolver or resolve)(host, port)
    except Exception as exc:  # resolve()'s refusal, or anything from an injected resolver
        raise AddressRefused("unresolved", host) from exc
    if not addresses:
        raise AddressRefused("unresolved", host)
    check = allowed or address_allowed
    if not all(check(address) for address in addresses):
        raise AddressRefused("private", host)
    address = addresses[0]
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    pinned = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return Target(pinned, parts.netloc, host if scheme == "https" else None)
