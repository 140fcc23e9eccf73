"""One vendor's HTTP API, with the studio's rules for what may be sent again.

Every remote engine talks to its vendor through a ``VendorClient``; the rules live here
once. Each request is classified by what a failure means for money spent at the vendor:

- **safe to retry**: the request never left (connection refused, connect timeout, no
  pooled connection), the vendor refused it for now (429, honouring ``retry-after`` /
  ``retry-after-ms``), or a read (GET, DELETE, PUT, or a POST marked ``idempotent``, such
  as Vertex's ``fetchPredictOperation``) met a 5xx, a 408, a timeout or a dropped
  connection. Retried with capped, jittered exponential backoff.
- **outcome unknown**: a create (any other POST) that may have reached the vendor (read
  timeout, dropped connection, 5xx after sending). Never resent: ``OutcomeUnknown`` is
  raised, and the runner (``videos_app.jobs.remote``) looks the job up or fails it.
- **permanent**: any other 4xx, raised as ``VendorHTTPError`` with the vendor's own code
  and message (read by the engine's ``error_of``), the key cut out should it be echoed.

Downloads stream to disk under a size cap and restart from the beginning when a
connection drops (a read, safe to repeat).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from .base import OutcomeUnknown, ProviderError, Unavailable
from .http import Backoff, retry_after_seconds, server_clock_offset

logger = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "PUT"})
MAX_VIDEO_BYTES = 2 << 30


class VendorUnavailable(Unavailable):
    """Transient failures outlasted the retries (nothing was created by this call)."""


class VendorHTTPError(ProviderError):
    """A final (4xx) answer: the vendor's own code and message, and the HTTP status."""

    def __init__(self, code: str, message: str, status: int, content_type: str = "") -> None:
        super().__init__(code, message)
        self.status = status
        self.content_type = content_type


ErrorReader = Callable[[httpx.Response], tuple[str, str]]


def json_error(response: httpx.Response) -> tuple[str, str]:
    """``{"error": {"code", "message"}}`` (OpenAI's and Google's envelope), or ``{"error":
    "..."}``, or FastAPI's ``{"detail": ...}``: the code and message it carries."""
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        body = response.json()
        error = body.get("error")
        if isinstance(error, dict):
            code = error.get("status") if isinstance(error.get("code"), int) else None
            return str(code or error.get("code") or ""), str(error.get("message") or "")
        if isinstance(error, str):
            return "", error
        detail = body.get("detail")
        if detail:
            return "", detail if isinstance(detail, str) else _detail_text(detail)
    return "", ""


def _detail_text(detail: Any) -> str:
    """FastAPI's list of field errors as one line (``loc: msg; ...``)."""
    if not isinstance(detail, list):
        return str(detail)[:500]
    parts = []
    for item in detail[:5]:
        if isinstance(item, dict):
            loc = ".".join(str(p) for p in item.get("loc") or () if p != "body")
            parts.append(f"{loc}: {item.get('msg')}" if loc else str(item.get("msg")))
    return "; ".join(parts)[:500]


class VendorClient:
    """A vendor's base URL, its auth headers and the studio's retry rules.

    ``headers`` is called for every request (a key read from a file or env at request
    time; an OAuth token refreshed when it expires). ``secret`` returns what must never
    appear in a message (the key). ``client`` may be shared between jobs (pooled).
    """

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        headers: Callable[[], Mapping[str, str]],
        client: httpx.Client,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        error_of: ErrorReader = json_error,
        secret: Callable[[], str] | None = None,
        credentials: str = "API key",
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.headers = headers
        self.client = client
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.error_of = error_of
        self.secret = secret
        self.credentials = credentials
        # Requests sent, by endpoint (tests and benchmarks read this).
        self.requests: Counter[str] = Counter()
        # The vendor's clock minus ours (seconds), from its last answer's Date header.
        self.clock_offset: float | None = None
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def count(self, endpoint: str) -> None:
        with self._lock:
            self.requests[endpoint] += 1

    # --- requests ------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request, retrying only what is safe to retry (see the module doc).

        ``idempotent``: whether the request may be sent again after it may have arrived
        (default: by method; a POST is a create unless marked)."""
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        url = self.url(path)
        for attempt in range(self.backoff.tries + 1):
            self.count(endpoint)
            try:
                response = self.client.request(
                    method, url, headers={**self.headers(), **(headers or {})}, **kwargs
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Never sent: safe to repeat, even a create.
                reason = type(exc).__name__
                if attempt >= self.backoff.tries:
                    raise VendorUnavailable(
                        "upstream_unavailable",
                        f"The provider {self.name} cannot be reached ({reason}).",
                    ) from None
                logger.info("%s %s: %s, retrying", method, endpoint, reason)
                self.sleep(self.backoff.delay(attempt))
                continue
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                reason = type(exc).__name__
                if not idempotent:
                    raise OutcomeUnknown(
                        "upstream_outcome_unknown",
                        f"The provider {self.name} did not answer the {endpoint} ({reason}); "
                        "it may have started the job.",
                    ) from None
                if attempt >= self.backoff.tries:
                    raise VendorUnavailable(
                        "upstream_unavailable",
                        f"The provider {self.name} keeps failing ({reason}).",
                    ) from None
                self.sleep(self.backoff.delay(attempt))
                continue
            self.clock_offset = server_clock_offset(response, self.clock_offset)
            if response.status_code < 300:
                return response
            if response.status_code >= 500 and not idempotent:
                raise OutcomeUnknown(
                    "upstream_outcome_unknown",
                    f"The provider {self.name} answered the {endpoint} with HTTP "
                    f"{response.status_code}; it may have started the job.",
                )
            wait = self.retry_wait(response, attempt, idempotent=idempotent)
            if wait is None:
                raise self.error(response, endpoint)
            logger.info("%s %s: HTTP %s, retrying in %.2f s", method, endpoint,
                        response.status_code, wait)  # fmt: skip
            self.sleep(wait)
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        """``send``, and the answer's JSON object; an answer that is not one is
        ``OutcomeUnknown`` for a create and ``VendorUnavailable`` for a read."""
        idempotent = kwargs.get("idempotent")
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        response = self.send(method, path, endpoint, **kwargs)
        try:
            data = response.json()
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return data
        except ValueError:
            what = f"The provider {self.name} answered the {endpoint} with something not JSON."
            if not idempotent:
                raise OutcomeUnknown("upstream_outcome_unknown", what) from None
            raise VendorUnavailable("upstream_unavailable", what) from None

    def retry_wait(
        self, response: httpx.Response, attempt: int, *, idempotent: bool
    ) -> float | None:
        """Seconds to wait before a retry, or None when this answer is final."""
        status = response.status_code
        retryable = status == 429 or (idempotent and (status >= 500 or status == 408))
        if not retryable:
            return None
        if attempt >= self.backoff.tries:
            if status == 429:
                raise VendorUnavailable(
                    "rate_limited", f"The provider {self.name} kept answering 429 (rate limited)."
                )
            raise VendorUnavailable(
                "upstream_unavailable", f"The provider {self.name} keeps answering HTTP {status}."
            )
        return self.backoff.delay(attempt, retry_after_seconds(response))

    def error(self, response: httpx.Response, what: str) -> VendorHTTPError:
        """The vendor's error, in words a user can act on, with the key cut out."""
        code, message = self.error_of(response)
        status = response.status_code
        if status == 404 and not code:
            code = "not_found"
        code = (code or f"http_{status}")[:64]
        message = message or f"The provider answered HTTP {status} for {what}."
        if status == 401:
            # The studio's own key for the provider, not the user's: say whose it is, or a
            # user reading "Incorrect API key" on their video suspects their own key.
            message = (
                f"The provider {self.name} did not accept the studio's {self.credentials} "
                f"for it (an operator must fix it): {message}"
            )
        if self.secret is not None:
            with contextlib.suppress(ProviderError):
                key = self.secret()
                if key and key in message:
                    message = message.replace(key, "[redacted]")
        return VendorHTTPError(code, message, status, response.headers.get("content-type", ""))

    # --- downloads -----------------------------------------------------------------

    def download(
        self,
        path: str,
        dest: Path,
        endpoint: str,
        *,
        max_bytes: int = MAX_VIDEO_BYTES,
        authenticated: bool = True,
        params: Mapping[str, str] | None = None,
    ) -> int:
        """Stream ``path`` (or an absolute URL) into ``dest``; return its size in bytes.

        ``authenticated=False`` for a vendor's signed links (CDN URLs): the key is not
        sent to another host. A 404 or 410 raises ``VendorHTTPError`` (the engine reads
        it as the file being gone)."""
        for attempt in range(self.backoff.tries + 1):
            try:
                with self._stream(path, endpoint, authenticated, params) as response:
                    size = 0
                    with dest.open("wb") as fh:
                        for chunk in response.iter_bytes(1 << 16):
                            size += len(chunk)
                            if size > max_bytes:
                                raise ProviderError(
                                    "upstream_invalid_asset",
                                    f"The provider's {endpoint} is larger than "
                                    f"{max_bytes // (1 << 20)} MB; not stored.",
                                )
                            fh.write(chunk)
                expected = response.headers.get("content-length")
                if expected is not None and int(expected) != size:
                    raise httpx.RemoteProtocolError("short body")
                return size
            except httpx.TransportError:
                if attempt >= self.backoff.tries:
                    raise VendorUnavailable(
                        "upstream_unavailable",
                        f"Downloading the {endpoint} from {self.name} kept failing.",
                    ) from None
                self.sleep(self.backoff.delay(attempt))
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _stream(
        self, path: str, endpoint: str, authenticated: bool, params: Mapping[str, str] | None
    ) -> Iterator[httpx.Response]:
        url = self.url(path)
        for attempt in range(self.backoff.tries + 1):
            self.count(endpoint)
            headers = dict(self.headers()) if authenticated else {}
            with self.client.stream("GET", url, params=params, headers=headers) as response:
                if response.status_code == 200:
                    yield response
                    return
                response.read()
                wait = self.retry_wait(response, attempt, idempotent=True)
                if wait is None:
                    raise self.error(response, endpoint)
            self.sleep(wait)
        raise AssertionError("unreachable")


def data_uri(path: Path, mime: str = "") -> str:
    """A file as a ``data:`` URI, which the vendors take wherever they take a URL (the
    type read from an image's content when not given)."""
    if not mime:
        with Image.open(path) as image:
            mime = Image.MIME.get(image.format or "", "image/png")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"
