"""The first remote engine: any service that speaks the Videos API (``/v1/videos``).

It translates: a ``RemoteRequest`` becomes the create, remix, edit or extension call,
an upstream video becomes a ``RemoteStatus``. What may be sent again, and what a failure
means for money spent upstream, is ``vendor.VendorClient``'s (shared by every engine).

The API key is read from the environment or a file on every call and only ever placed
in the ``Authorization`` header; it is in no repr, message or log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
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
)
from .http import Backoff, key_from, new_client, shared_client
from .vendor import VendorClient, VendorHTTPError, VendorUnavailable, json_error

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


# The names this engine's callers know.
UpstreamUnavailable = VendorUnavailable
UpstreamHTTPError = VendorHTTPError


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
    native_extend = True  # /v1/videos/extensions continues a video upstream

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
        self._owns_client = client is None
        self._client = client or new_client(
            timeout,
            connect_timeout,
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            follow_redirects=False,
        )
        self.http = VendorClient(
            name=name,
            base_url=self.base_url,
            headers=self._headers,
            client=self._client,
            backoff=backoff,
            sleep=sleep,
            error_of=json_error,
            secret=api_key,
        )

    @property
    def requests(self) -> dict[str, int]:
        """Requests sent, by endpoint (the benchmark and tests read this)."""
        return self.http.requests

    @property
    def clock_offset(self) -> float | None:
        """The upstream's clock minus ours, in seconds, from its last answer's ``Date``
        header (None until one came): reconciliation reads upstream timestamps with it."""
        return self.http.clock_offset

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

    def probe(self) -> str:
        """One cheap authenticated call: the newest video on the upstream's list."""
        page = self._send("GET", "/videos", "list", params={"limit": 1}).json()
        data = page.get("data") or []
        return (
            f"{self.base_url} answered; its newest video is {data[0]['id']}"
            if data
            else (f"{self.base_url} answered; it has no videos yet")
        )

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
        """Stream one variant of a finished video into ``dest``; return its size in bytes
        (a failure part-way restarts the download: it is a read, safe to repeat)."""
        if variant not in ASSET_VARIANTS:
            raise ValueError(f"unknown variant {variant!r}")
        try:
            return self.http.download(
                f"/videos/{video_id}/content", dest, f"content:{variant}",
                max_bytes=MAX_ASSET_BYTES[variant], params={"variant": variant},
            )  # fmt: skip
        except ProviderError as exc:
            if isinstance(exc, VendorHTTPError):
                raise self._explained(exc) from None
            raise

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

    def _explained(self, error: VendorHTTPError) -> VendorHTTPError:
        """A 404 or 405 that is not the API's JSON envelope most likely means a base URL
        without its /v1: say so."""
        if error.status in (404, 405) and "json" not in error.content_type:
            return VendorHTTPError(
                error.code,
                f"{error.message} It did not answer like a /v1/videos service: check the "
                f"provider's base URL ({self.base_url}), which usually ends in /v1.",
                error.status,
            )
        return error

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key()}", "Accept": "application/json"}

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
        try:
            return self.http.send(method, path, endpoint, **kwargs)
        except VendorHTTPError as exc:
            raise self._explained(exc) from None


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
