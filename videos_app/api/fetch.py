"""Fetching an ``https://`` reference image without letting a URL reach inside the network.

Off unless ``STUDIO_ALLOW_IMAGE_URL_FETCH`` is on. When on, every hop goes through the
address guard (``addresses.pin``: resolved, every address checked, the connection made to
the checked one) before a connection is made. Redirects are followed by hand (at most
MAX_REDIRECTS, each checked the same way); size and time are capped.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urljoin

import httpx
from django.conf import settings

from . import addresses
from .addresses import AddressCheck, AddressRefused, Resolver

MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 10.0
CHUNK_SIZE = 64 * 1024


class FetchError(Exception):
    """The URL was refused or could not be fetched; the message is safe to show."""


def fetch_enabled() -> bool:
    value = getattr(settings, "STUDIO_ALLOW_IMAGE_URL_FETCH", None)
    if value is None:
        value = os.environ.get("STUDIO_ALLOW_IMAGE_URL_FETCH", "")
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


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


# The guard's refusals, worded for someone sending an image URL.
_REFUSALS = {
    "scheme": "Only https (or http) image URLs can be fetched.",
    "port": "The image URL has an invalid port.",
    "host": "The image URL must name a host and carry no credentials.",
    "unresolved": "The host '{host}' could not be resolved.",
    "private": "The image URL points to a private, loopback or reserved address and was refused.",
}


def _checked_request(
    client: httpx.Client, url: str, resolver: Resolver | None, allowed: AddressCheck | None
) -> httpx.Request:
    try:
        target = addresses.pin(url, resolver=resolver, allowed=allowed)
    except AddressRefused as exc:
        raise FetchError(_REFUSALS[exc.reason].format(host=exc.host)) from exc
    return client.build_request(
        "GET",
        target.url,
        headers={"Host": target.host_header, "Accept": "image/*", "User-Agent": "studio-fetch"},
        extensions=target.extensions,
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
