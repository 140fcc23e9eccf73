"""The first remote engine: any service that speaks the Videos API (``/v1/videos``).

It translates: a ``RemoteRequest`` becomes the create, remix, edit or extension call,
an upstream video becomes a ``RemoteStatus``. Every call is classified by what a failure
means for money spent upstream:

- **safe to retry**: the request never left (connection refused, connect timeout, no
  pooled connection), the upstream refused it for now (429, honouring ``retry-after`` /
  ``retry-after-ms``), or a read (GET/DELETE) met a 5xx, a timeout or a dropped
  connection. Retried here with capped, jittered exponential backoff.
- **outcome unknown**: a POST that may have reached the upstream (read timeout, dropped
  connection, 5xx after sending). Never resent: ``OutcomeUnknown`` is raised, and the
  job pipeline reconciles against the upstream's list instead.
- **permanent**: any other 4xx, raised as ``ProviderError`` with the upstream's own error
  code and message.

The API key is read from the environment or a file on every call and only ever placed
in the ``Authorization`` header; it is in no repr, message or log line.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .base import (
    ASSET_VARIANTS,
    OutcomeUnknown,
    ProviderError,
    RemoteGone,
    RemoteRequest,
    RemoteStatus,
    Unavailable,
)
from .http import Backoff, key_from, retry_after_seconds, server_clock_offset, shared_client

if TYPE_CHECKING:
    from .models import Provider as ProviderRow

logger = logging.getLogger(__name__)

# What a download may weigh (streamed to disk, so a runaway upstream cannot fill it).
MAX_ASSET_BYTES = {"video": 2 << 30, "thumbnail": 20 << 20, "spritesheet": 50 << 20}
# Finding a lost create: only upstream jobs made after it was sent, read on the
# upstream's clock (its Date header): this much earlier covers the header's and the
# created_at's whole seconds. Without a Date header it looks RECONCILE_SKEW_SECONDS back.
RECONCILE_MARGIN_SECONDS = 2
RECONCILE_SKEW_SECONDS = 120


class UpstreamUnavailable(Unavailable):
    """Transient failures outlasted the retries (nothing was created by this call)."""


class UpstreamHTTPError(ProviderError):
    """A final (4xx) answer: the upstream's own code and message, and the HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(code, message)
        self.status = status


@dataclass(frozen=True, kw_only=True)
class UpstreamVideo(RemoteStatus):
    """An upstream video; ``poll_after`` is from ``openai-poll-after-ms``."""

    model: str
    prompt: str
    size: str
    seconds: str
    created_at: int
    remixed_from_video_id: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any], poll_after: float | None = None) -> UpstreamVideo:
        error = data.get("error") or {}
        return cls(
            id=str(data["id"]),
            status=str(data.get("status") or ""),
            progress=int(data.get("progress") or 0),
            model=str(data.get("model") or ""),
            prompt=str(data.get("prompt") or ""),
            size=str(data.get("size") or ""),
            seconds=str(data.get("seconds") or ""),
            created_at=int(data.get("created_at") or 0),
            remixed_from_video_id=data.get("remixed_from_video_id"),
            error_code=str(error.get("code") or ""),
            error_message=str(error.get("message") or ""),
            poll_after=poll_after,
        )


class OpenAICompatibleProvider:
    """Drives one upstream ``/v1/videos`` service. ``client`` may be injected (tests)."""

    kind = "openai_compatible"

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: Callable[[], str],
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        max_concurrency: int = 4,
        backoff: Backoff | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_concurrency = max_concurrency
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self._owns_client = client is None
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            follow_redirects=False,
        )
        # Requests sent, by endpoint (the benchmark and tests read this).
        self.requests: dict[str, int] = {}
        # The upstream's clock minus ours, in seconds, from its last answer's ``Date``
        # header (None until one came): reconciliation reads upstream timestamps with it.
        self.clock_offset: float | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<OpenAICompatibleProvider {self.name} {self.base_url}>"

    @classmethod
    def from_row(cls, row: ProviderRow) -> OpenAICompatibleProvider:
        """The engine of a ``Provider`` row (its key is read per call)."""
        return cls(
            name=row.name,
            base_url=row.base_url,
            api_key=key_from(env=row.api_key_env, file=row.api_key_file),
            timeout=row.timeout_seconds,
            connect_timeout=row.connect_timeout_seconds,
            max_concurrency=row.max_concurrency,
            client=shared_client(row.base_url, row.timeout_seconds, row.connect_timeout_seconds),
        )

    def close(self) -> None:
        """Close the HTTP client if this provider made it (a shared one stays open)."""
        if self._owns_client:
            self._client.close()

    # --- the remote engine (base.RemoteEngine) -------------------------------------

    def check(self, request: RemoteRequest) -> None:
        self._sender(request)

    def submit(self, request: RemoteRequest) -> str:
        return self._sender(request)().id

    def status(self, job_id: str) -> RemoteStatus:
        try:
            return self.retrieve(job_id)
        except UpstreamHTTPError as exc:
            if exc.status == 404:
                raise RemoteGone(exc.code, exc.message) from None
            raise

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        listed = self.list_recent(
            since=since - RECONCILE_MARGIN_SECONDS,
            our_clock=True,
            skew_if_unknown=RECONCILE_SKEW_SECONDS,
        )
        return [v.id for v in listed if _matches(v, request)]

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        try:
            return self.download(job_id, variant, dest)
        except UpstreamHTTPError as exc:
            if exc.status == 404:
                raise RemoteGone(exc.code, exc.message) from None
            raise

    def _sender(self, request: RemoteRequest) -> Callable[[], UpstreamVideo]:
        """The call that sends ``request``; refuses what the upstream cannot do first."""
        if request.with_characters:
            raise ProviderError(
                "characters_unsupported",
                f"The provider {self.name} does not take characters; remove them or pick "
                "a model that runs on the local renderer.",
            )
        source_id = request.source_id
        upload = request.source_upload
        if upload is None and not source_id:
            upload = request.source_file
        op = request.operation
        if op == "remix":
            if not source_id:
                raise ProviderError(
                    "remix_unsupported",
                    f"Only a video made on {self.name} can be remixed there.",
                )
            return self._source_gone(lambda: self.remix(source_id, prompt=request.prompt), None)
        if op in ("edit", "extend") and not (source_id or upload):
            raise ProviderError("source_missing", "The source video no longer exists.")
        # Upstream copies expire: an edit or extension whose source is gone there sends
        # our own copy of the file instead (a 404 created nothing, so this is no resend).
        stored = request.source_file if source_id else None
        if op == "edit":

            def edit(upload: Path | None, video_id: str = "") -> UpstreamVideo:
                return self.edit(
                    prompt=request.prompt, video_id=video_id, upload=upload, model=request.model
                )

            return self._source_gone(
                lambda: edit(upload, source_id), (lambda: edit(stored)) if stored else None
            )
        if op == "extend":

            def extend(upload: Path | None, video_id: str = "") -> UpstreamVideo:
                return self.extend(
                    prompt=request.prompt, seconds=request.segment_seconds, video_id=video_id,
                    upload=upload,
                )  # fmt: skip

            return self._source_gone(
                lambda: extend(upload, source_id), (lambda: extend(stored)) if stored else None
            )
        reference = None
        if request.reference_image is not None:
            data = request.reference_image.read_bytes()
            reference = ("reference" + _image_suffix(data), data, _image_type(data))
        return lambda: self.create(
            prompt=request.prompt, model=request.model, size=request.size,
            seconds=request.seconds, reference=reference,
        )  # fmt: skip

    def _source_gone(
        self,
        by_id: Callable[[], UpstreamVideo],
        by_file: Callable[[], UpstreamVideo] | None,
    ) -> Callable[[], UpstreamVideo]:
        """Send by the source's upstream id; if the upstream no longer has it (404), send
        our stored file instead, or fail saying so (a remix needs the upstream's copy)."""

        def send() -> UpstreamVideo:
            try:
                return by_id()
            except UpstreamHTTPError as exc:
                if exc.status != 404:
                    raise
                if by_file is None:
                    raise ProviderError(
                        "source_gone_upstream",
                        f"The source's copy on {self.name} is gone (expired or deleted), so "
                        "it cannot be remixed there; Edit and Extend still work (they send "
                        "the file).",
                    ) from None
                logger.info("the source is gone on %s; sending the stored file", self.name)
                return by_file()

        return send

    # --- the operations ------------------------------------------------------------

    def create(
        self,
        *,
        prompt: str,
        model: str,
        size: str,
        seconds: int,
        reference: tuple[str, bytes, str] | None = None,
    ) -> UpstreamVideo:
        """``reference``: (file name, bytes, content type) of the first-frame image."""
        files = {"input_reference": reference} if reference else None
        data = {"prompt": prompt, "model": model, "size": size, "seconds": str(seconds)}
        return self._video("POST", "/videos", "create", data=data, files=files)

    def retrieve(self, video_id: str) -> UpstreamVideo:
        return self._video("GET", f"/videos/{video_id}", "retrieve")

    def list_recent(
        self,
        *,
        since: float,
        max_pages: int = 10,
        our_clock: bool = False,
        skew_if_unknown: float = 0.0,
    ) -> list[UpstreamVideo]:
        """The upstream's videos created at or after ``since`` (unix seconds), newest first.

        With ``our_clock``, ``since`` is this machine's time, moved onto the upstream's
        clock by its answers' ``Date`` header; an upstream that sends none is looked
        ``skew_if_unknown`` seconds further back."""
        found: list[UpstreamVideo] = []
        after: str | None = None
        for _ in range(max_pages):
            params: dict[str, str | int] = {"limit": 100, "order": "desc"}
            if after:
                params["after"] = after
            page = self._send("GET", "/videos", "list", params=params).json()
            threshold = since
            if our_clock:
                offset = self.clock_offset
                threshold = since + offset if offset is not None else since - skew_if_unknown
            data = page.get("data") or []
            videos = [UpstreamVideo.from_json(item) for item in data]
            found.extend(v for v in videos if v.created_at >= threshold)
            if not page.get("has_more") or not videos or videos[-1].created_at < threshold:
                break
            after = videos[-1].id
        return found

    def remix(self, video_id: str, *, prompt: str) -> UpstreamVideo:
        return self._video("POST", f"/videos/{video_id}/remix", "remix", json={"prompt": prompt})

    def edit(
        self, *, prompt: str, video_id: str = "", upload: Path | None = None, model: str = ""
    ) -> UpstreamVideo:
        data, files = self._source_parts(prompt, video_id, upload, model)
        return self._video("POST", "/videos/edits", "edit", data=data, files=files)

    def extend(
        self, *, prompt: str, seconds: int, video_id: str = "", upload: Path | None = None
    ) -> UpstreamVideo:
        data, files = self._source_parts(prompt, video_id, upload, "")
        data["seconds"] = str(seconds)
        return self._video("POST", "/videos/extensions", "extend", data=data, files=files)

    def delete(self, video_id: str) -> bool:
        """Delete an upstream video; True if it is gone (already gone counts)."""
        try:
            self._send("DELETE", f"/videos/{video_id}", "delete")
        except UpstreamHTTPError as exc:
            if exc.status == 404:
                return True
            raise
        return True

    def download(self, video_id: str, variant: str, dest: Path) -> int:
        """Stream one variant of a finished video into ``dest``; return its size in bytes.

        A failure part-way (dropped connection, timeout) restarts the download: it is a
        read, safe to repeat.
        """
        if variant not in ASSET_VARIANTS:
            raise ValueError(f"unknown variant {variant!r}")
        endpoint = f"content:{variant}"
        for attempt in range(self.backoff.tries + 1):
            try:
                with self._stream(video_id, variant, endpoint) as response:
                    size = 0
                    with dest.open("wb") as fh:
                        for chunk in response.iter_bytes(1 << 16):
                            size += len(chunk)
                            if size > MAX_ASSET_BYTES[variant]:
                                raise ProviderError(
                                    "upstream_invalid_asset",
                                    f"The upstream's {variant} is larger than "
                                    f"{MAX_ASSET_BYTES[variant] // (1 << 20)} MB; not stored.",
                                )
                            fh.write(chunk)
                expected = response.headers.get("content-length")
                if expected is not None and int(expected) != size:
                    raise httpx.RemoteProtocolError("short body")
                return size
            except httpx.TransportError:
                if attempt >= self.backoff.tries:
                    raise UpstreamUnavailable(
                        "upstream_unavailable",
                        f"Downloading the {variant} of upstream video {video_id} kept failing.",
                    ) from None
                self.sleep(self.backoff.delay(attempt))
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _stream(self, video_id: str, variant: str, endpoint: str) -> Iterator[httpx.Response]:
        url = f"{self.base_url}/videos/{video_id}/content"
        for attempt in range(self.backoff.tries + 1):
            self._count(endpoint)
            with self._client.stream(
                "GET", url, params={"variant": variant}, headers=self._headers()
            ) as response:
                if response.status_code == 200:
                    yield response
                    return
                response.read()
                wait = self._retry_wait(response, attempt, idempotent=True)
                if wait is None:
                    raise self._error(response, f"the {variant} of upstream video {video_id}")
            self.sleep(wait)
        raise AssertionError("unreachable")

    # --- plumbing ------------------------------------------------------------------

    def _source_parts(
        self, prompt: str, video_id: str, upload: Path | None, model: str
    ) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]] | None]:
        data = {"prompt": prompt}
        if model:
            data["model"] = model
        if video_id:
            data["video[id]"] = video_id
            return data, None
        if upload is None:
            raise ProviderError("source_missing", "The source video no longer exists.")
        mp4 = ASSET_VARIANTS["video"].content_type
        return data, {"video": ("source.mp4", upload.read_bytes(), mp4)}

    def _error(self, response: httpx.Response, what: str) -> UpstreamHTTPError:
        """The upstream's error, with the key cut out of its message should it echo it."""
        error = _error_from(response, what)
        if error.status == 401:
            # The studio's own key for the provider, not the user's: say whose it is, or a
            # user reading "Incorrect API key" on their video suspects their own key.
            error = UpstreamHTTPError(
                error.code,
                f"The provider {self.name} did not accept the studio's API key for it "
                f"(an operator must fix it): {error.message}",
                error.status,
            )
        elif error.status in (404, 405) and "json" not in response.headers.get("content-type", ""):
            # Not the API's JSON envelope: most likely a base URL without its /v1.
            error = UpstreamHTTPError(
                error.code,
                f"{error.message} It did not answer like a /v1/videos service: check the "
                f"provider's base URL ({self.base_url}), which usually ends in /v1.",
                error.status,
            )
        try:
            key = self._api_key()
        except ProviderError:
            return error
        if key and key in error.message:
            return UpstreamHTTPError(
                error.code, error.message.replace(key, "[redacted]"), error.status
            )
        return error

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key()}", "Accept": "application/json"}

    def _count(self, endpoint: str) -> None:
        with self._lock:
            self.requests[endpoint] = self.requests.get(endpoint, 0) + 1

    def _video(self, method: str, path: str, endpoint: str, **kwargs: Any) -> UpstreamVideo:
        if "data" in kwargs:
            # Always multipart, file or not, as the SDK sends it: a field is a part
            # without a file name.
            parts: list[tuple[str, tuple[str | None, str | bytes, str | None]]] = [
                (key, (None, value, None)) for key, value in kwargs.pop("data").items()
            ]
            for key, (filename, content, ctype) in (kwargs.pop("files", None) or {}).items():
                parts.append((key, (filename, content, ctype)))
            kwargs["files"] = parts
        response = self._send(method, path, endpoint, **kwargs)
        try:
            data = response.json()
            poll_after_ms = response.headers.get("openai-poll-after-ms")
            poll_after = float(poll_after_ms) / 1000 if poll_after_ms else None
            return UpstreamVideo.from_json(data, poll_after)
        except (ValueError, KeyError, TypeError):
            if method == "POST":
                raise OutcomeUnknown(
                    "upstream_outcome_unknown",
                    "The upstream answered the request with something that is not a video.",
                ) from None
            raise UpstreamUnavailable(
                "upstream_unavailable", "The upstream answered with something that is not a video."
            ) from None

    def _send(self, method: str, path: str, endpoint: str, **kwargs: Any) -> httpx.Response:
        """Send one request, retrying only what is safe to retry (see the module doc)."""
        idempotent = method in {"GET", "DELETE"}
        url = f"{self.base_url}{path}"
        for attempt in range(self.backoff.tries + 1):
            self._count(endpoint)
            try:
                response = self._client.request(method, url, headers=self._headers(), **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Never sent: safe to repeat, even a create.
                reason = type(exc).__name__
                if attempt >= self.backoff.tries:
                    raise UpstreamUnavailable(
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
                    raise UpstreamUnavailable(
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
            wait = self._retry_wait(response, attempt, idempotent=idempotent)
            if wait is None:
                raise self._error(response, endpoint)
            logger.info("%s %s: HTTP %s, retrying in %.2f s", method, endpoint,
                        response.status_code, wait)  # fmt: skip
            self.sleep(wait)
        raise AssertionError("unreachable")

    def _retry_wait(
        self, response: httpx.Response, attempt: int, *, idempotent: bool
    ) -> float | None:
        """Seconds to wait before a retry, or None when this answer is final."""
        status = response.status_code
        retryable = status == 429 or (idempotent and (status >= 500 or status == 408))
        if not retryable:
            return None
        if attempt >= self.backoff.tries:
            if status == 429:
                raise UpstreamUnavailable(
                    "rate_limited", f"The provider {self.name} kept answering 429 (rate limited)."
                )
            raise UpstreamUnavailable(
                "upstream_unavailable", f"The provider {self.name} keeps answering HTTP {status}."
            )
        return self.backoff.delay(attempt, retry_after_seconds(response))


def _error_from(response: httpx.Response, what: str) -> UpstreamHTTPError:
    """The upstream's own error code and message (the envelope), or the HTTP status."""
    code, message = "", ""
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        error = response.json().get("error") or {}
        code = str(error.get("code") or "")
        message = str(error.get("message") or "")
    if response.status_code == 404 and not code:
        code = "not_found"
    code = code or f"http_{response.status_code}"
    message = message or f"The provider answered HTTP {response.status_code} for {what}."
    return UpstreamHTTPError(code[:64], message, response.status_code)


def _matches(upstream: UpstreamVideo, request: RemoteRequest) -> bool:
    """Whether an upstream job may be the one ``request``'s lost create started."""
    same = (
        upstream.prompt == request.prompt
        and upstream.size == request.size
        and upstream.seconds == str(request.seconds)
    )
    if request.operation == "remix":
        return same and upstream.remixed_from_video_id == request.source_id
    if request.operation == "create":
        return same and upstream.model == request.model
    return same


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _image_suffix(data: bytes) -> str:
    return {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}.get(
        _image_type(data), ""
    )
