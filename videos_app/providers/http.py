"""HTTP plumbing every remote engine shares: backoff, the server's ``retry-after`` and
clock, one pooled client per upstream, and where an API key is read from.

The API key is read from the environment or a file on every call; it is in no repr,
message or log line.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from .base import ProviderError

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 120.0  # the SDK's own cap on a server's retry-after


@dataclass(frozen=True)
class Backoff:
    """Capped, jittered exponential backoff: ``base * 2**n`` up to ``cap``, full jitter
    in its upper half (so retries from many jobs do not arrive in step)."""

    base: float = 0.5
    cap: float = 8.0
    tries: int = 5

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(0.0, retry_after), MAX_RETRY_AFTER)
        top = min(self.cap, self.base * 2**attempt)
        return top / 2 + random.uniform(0, top / 2)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The server's requested wait: ``retry-after-ms``, else ``retry-after`` (seconds),
    else Google's ``RetryInfo`` in the error body (``"retryDelay": "30s"``)."""
    for header, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = response.headers.get(header)
        if value:
            with contextlib.suppress(ValueError):
                return float(value) / scale
    return _google_retry_delay(response)


def _google_retry_delay(response: httpx.Response) -> float | None:
    if "json" not in response.headers.get("content-type", ""):
        return None
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        error = response.json().get("error") or {}
        for detail in error.get("details") or ():
            if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
                delay = str(detail.get("retryDelay") or "")
                if delay.endswith("s"):
                    return float(delay[:-1])
    return None


def server_clock_offset(response: httpx.Response, previous: float | None) -> float | None:
    """The server's clock minus ours (seconds) by its ``Date`` header, which has whole
    seconds (so the answer is up to a second, plus the answer's travel time, early);
    ``previous`` when the header is missing or unreadable."""
    try:
        server = parsedate_to_datetime(response.headers["date"])
    except (KeyError, TypeError, ValueError, IndexError):
        return previous
    if server.tzinfo is None:
        return previous
    return server.timestamp() - time.time()


# Where a key file may not be: the studio's own data (its secret key, database, media)
# and the kernel's views of processes and devices (/proc/self/environ holds every
# secret in the environment). A key file elsewhere is sent to the provider's URL.
FORBIDDEN_KEY_DIRS = (Path("/proc"), Path("/sys"), Path("/dev"))


def key_file_refusal(file: str) -> str:
    """Why ``file`` cannot be a provider's API key file ("" when it can)."""
    from django.conf import settings

    if not file.startswith("/"):
        return (
            "Give the absolute path of a file that holds the API key "
            "(e.g. /etc/studio/upstream.key), not the key itself: it must never be stored here."
        )
    path = Path(file).resolve()
    data_dir = Path(settings.DATA_DIR).resolve()
    if path == data_dir or data_dir in path.parents:
        return "That is in the studio's data directory (its own secrets); keep the key elsewhere."
    if any(path == d or d in path.parents for d in FORBIDDEN_KEY_DIRS):
        return "A key file cannot be under /proc, /sys or /dev."
    return ""


def key_from(*, env: str = "", file: str = "") -> Callable[[], str]:
    """A reader of the API key, called at request time (rotations apply at once).

    Its errors are shown to the video's creator: they say what is wrong, and the log
    (for the operator) says which variable or file."""

    def read() -> str:
        if env and os.environ.get(env):
            return os.environ[env].strip()
        if file:
            if refusal := key_file_refusal(file):
                logger.warning("API key file %s refused: %s", file, refusal)
                raise ProviderError(
                    "provider_misconfigured", "The provider's API key file is not allowed."
                )
            try:
                return Path(file).read_text().strip()
            except OSError:
                logger.warning("API key file %s cannot be read", file)
                raise ProviderError(
                    "provider_misconfigured",
                    "The provider's API key file cannot be read.",
                ) from None
        logger.warning("API key not set: environment variable %s is empty", env or "(none)")
        raise ProviderError(
            "provider_misconfigured",
            "The provider's API key is not set; an admin must set it.",
        )

    return read


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's one certificate store, as httpx would build it (``SSL_CERT_FILE`` or
    ``SSL_CERT_DIR``, else certifi's): loading it costs about 20 ms, which every job's new
    client paid twice (API and downloads) before it was shared."""
    import certifi

    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


def new_client(timeout: float, connect_timeout: float, **options: Any) -> httpx.Client:
    """An httpx client with the studio's timeouts and the shared certificate store."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=connect_timeout), verify=tls_context(), **options
    )


_clients: dict[tuple[str, float, float], httpx.Client] = {}
_clients_lock = threading.Lock()


def shared_client(base_url: str, timeout: float, connect_timeout: float) -> httpx.Client:
    """One pooled client per upstream and timeouts, per process (a worker runs many jobs:
    making a client costs an SSL context, tens of milliseconds, and its connections)."""
    key = (base_url, timeout, connect_timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None or client.is_closed:
            client = _clients[key] = new_client(
                timeout,
                connect_timeout,
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
                follow_redirects=False,
            )
        return client
