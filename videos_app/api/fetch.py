"""Fetching an ``https://`` reference image without letting a URL reach inside the network.

Off unless ``STUDIO_ALLOW_IMAGE_URL_FETCH`` is on. When on, every hop is resolved and
every address checked (private, loopback, link-local, reserved and the like are refused)
before a connection is made, and the connection goes to the checked address, so a second
DNS answer cannot swap it. Redirects are followed by hand (at most MAX_REDIRECTS, each
checked the same way); size and time are capped.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from django.conf import settings

MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 10.0
CHUNK_SIZE = 64 * 1024

Resolver = Callable[[str, int], list[str]]
AddressCheck = Callable[[str], bool]


class FetchError(Exception):
    """The URL was refused or could not be fetched; the message is safe to show."""


def fetch_enabled() -> bool:
    value = getattr(settings, "STUDIO_ALLOW_IMAGE_URL_FETCH", None)
    if value is None:
        value = os.environ.get("STUDIO_ALLOW_IMAGE_URL_FETCH", "")
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"The host '{host}' could not be resolved.") from exc
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


def image_url_fetch(
    url: str,
    *,
    max_bytes: int,
    timeout: float = TIMEOUT_SECONDS,
    resolver: Resolver | None = None,
    allowed: AddressCheck | None = None,
    transport: httpx.BaseTransport | None = None,
) -> bytes:
    """The body of ``url`` (http or https), at most ``max_bytes``, or FetchError."""
    resolver = resolver or resolve
    allowed = allowed or address_allowed
    deadline = time.monotonic() + timeout
    with httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment: the checked address is the peer
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            request = _checked_request(client, url, resolver, allowed)
            try:
                response = client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise FetchError("The image URL could not be fetched.") from exc
            try:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code != 200:
                    raise FetchError(
                        f"The image URL answered HTTP {response.status_code}, not 200."
                    )
                return _read_capped(response, max_bytes, deadline)
            except httpx.HTTPError as exc:
                raise FetchError("The image URL could not be fetched.") from exc
            finally:
                response.close()
    raise FetchError(f"The image URL redirected more than {MAX_REDIRECTS} times.")


def _checked_request(
    client: httpx.Client, url: str, resolver: Resolver, allowed: AddressCheck
) -> httpx.Request:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError("Only https (or http) image URLs can be fetched.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise FetchError("The image URL has an invalid port.") from exc
    host = parts.hostname
    if not host or parts.username is not None or parts.password is not None:
        raise FetchError("The image URL must name a host and carry no credentials.")
    addresses = resolver(host, port)
    if not addresses:
        raise FetchError(f"The host '{host}' could not be resolved.")
    if not all(allowed(address) for address in addresses):
        raise FetchError(
            "The image URL points to a private, loopback or reserved address and was refused."
        )
    address = addresses[0]
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    target = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    # SNI and certificate checks still use the name from the URL.
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    return client.build_request(
        "GET",
        target,
        headers={"Host": parts.netloc, "Accept": "image/*", "User-Agent": "studio-fetch"},
        extensions=extensions,
    )


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"The image is larger than {max_bytes // (1024 * 1024)} MB.")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes(CHUNK_SIZE):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"The image is larger than {max_bytes // (1024 * 1024)} MB.")
        if time.monotonic() > deadline:
            raise FetchError("Fetching the image URL took too long.")
        chunks.append(chunk)
    return b"".join(chunks)
