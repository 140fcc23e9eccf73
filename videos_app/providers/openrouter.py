"""OpenRouter's video API: one normalised schema in front of many makers' models.

``POST /videos`` makes a job (202 ``{"id", "polling_url", "status": "pending"}``),
``GET /videos/{id}`` says how it is going (``pending``, ``in_progress``, then
``completed``, ``failed``, ``cancelled`` or ``expired``), ``GET /videos/{id}/content``
streams the result with the key, and ``GET /videos/models`` lists the models and what
each takes (the ``openrouter`` SDK 1.3.84's ``video_generation`` module and its
``VideoGenerationRequest`` / ``VideoGenerationResponse`` / ``VideoModel``).

httpx through ``VendorClient``, not the ``openrouter`` SDK: its base URL can be set and
its retries turned off, but its default retry policy (an hour of backoff on 5xx and on
connection errors) covers ``POST /videos``, and its transport reports a refused connection
and a create whose answer was lost alike, where the studio must tell them apart.

The result is fetched from the authenticated content endpoint (``unsigned_urls``: it
stays valid as long as the output exists, and the key goes only to the row's own host);
if that answers 403/404/410 the job is read again and its signed ``urls`` (OpenRouter's
stored copy, valid until ``expires_at``) are fetched without the key; then the video is
gone. The SDK has no list of jobs (a lost create cannot be found: ``find_lost`` is
empty), no cancel and no delete: a cancelled job is abandoned, a deleted video's copy
expires at OpenRouter.

``previous_job_id`` continues a completed job on the same model ("edit or extend", the
SDK says): ``extend`` of a video made on this provider sends it, on the models that
continue (``MODELS``). ``edit`` sends the source as a video reference
(``input_references``), which Seedance 2.0 and newer honour. No model remixes.

``Provider.options`` (all optional):

- ``native_extend``: false to make every extension from the source's last frame, stitched
  by the studio (any model with a first frame), instead of continuing the job there
  where the model can (Veo); a model that cannot (Wan, Kling) is always stitched.
- ``poll_interval_seconds``: the pace of polls (default: the runner's; OpenRouter
  suggests 10-30 s).
- ``max_inline_video_mb``: the largest source an edit sends inline (default 30:
  OpenRouter caps a request at 50 MiB, and base64 adds a third).

Webhooks: ``callback_url`` is the studio's inbound address (HTTPS only, as OpenRouter
requires); deliveries are verified with the workspace's signing secret (the row's
``webhook_secret_env``). The key is read per call, sent only as ``Authorization: Bearer``
to the row's host, and is in no repr, message or log line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from .base import (
    OutcomeUnknown,
    ProviderError,
    RemoteGone,
    RemoteRequest,
    RemoteStatus,
    WebhookEvent,
    WebhookRefused,
    size_aspect_ratio,
    size_resolution,
)
from .capabilities import Capabilities
from .http import Backoff, key_from, new_client, shared_client
from .vendor import VendorClient, VendorHTTPError, data_uri

if TYPE_CHECKING:
    from .models import Provider as ProviderRow

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
GONE_STATUSES = (403, 404, 410)  # a result that is no longer there
WEBHOOK_TOLERANCE_SECONDS = 300
MODELS_TTL_SECONDS = 3600.0  # how long a process trusts its copy of /videos/models
FINAL_EVENTS = tuple(
    f"video.generation.{s}" for s in ("completed", "failed", "cancelled", "expired")
)
# The SDK's VideoGenerationRequestAspectRatio.
ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21")
RESOLUTIONS = ("360p", "480p", "720p", "768p", "1080p", "1K", "2K", "4K")  # ...Resolution
# The studio's sizes in OpenRouter's terms. 960x960 is the 720p class's square (the same
# pixel count as 1280x720); 1792x1024 and 1024x1792 (7:4 at "1024p") it cannot name.
SHAPES: dict[str, tuple[str, str]] = {
    "1280x720": ("16:9", "720p"), "720x1280": ("9:16", "720p"),
    "1920x1080": ("16:9", "1080p"), "1080x1920": ("9:16", "1080p"),
    "3840x2160": ("16:9", "4K"), "2160x3840": ("9:16", "4K"),
    "640x360": ("16:9", "360p"), "360x640": ("9:16", "360p"), "960x960": ("1:1", "720p"),
}  # fmt: skip
# Words of a refusal by a moderation or safety check in a failed job's error.
POLICY_WORDS = ("moderation", "flagged", "content policy", "content_policy", "safety",
                "responsible ai", "prohibited")  # fmt: skip

# Seeded per model from the makers' documented limits (OpenRouter lists the ids in its
# "Choose a Video Generation Model" guide; ``probe()`` shows the live list):
# - Veo 3.1 (Google's model page, vendors.md 1b; 720p/1080p as OpenRouter's model list
#   example gives): 4, 6 or 8 s at 16:9 / 9:16, first and last frame, up to three
#   reference images (standard only), sound that can be turned off, a seed; continues a
#   job it made (scene extension, Veo's 7 s step).
# - Wan 2.6 (Alibaba's DashScope page): 5, 10 or 15 s at 720p/1080p, 16:9, 9:16, 1:1
#   (960x960), a first frame, sound, a seed.
# - Kling 3.0 Pro (Kling's release notes): 3-15 s at 1080p, 16:9 / 9:16, first and last
#   frame, sound; no seed.
# - Seedance 2.0 (ByteDance's page; the SDK: "audio and video references are only honored
#   by ... Seedance generation 2 and newer"): 4-15 s at 720p, first and last frame, up to
#   nine reference images, sound, a seed; edits a video given as a reference.
# None takes a negative prompt in OpenRouter's schema (only through a provider's
# passthrough options), and none remixes.
_HD = ("1280x720", "720x1280", "1920x1080", "1080x1920")
_VEO = Capabilities(
    sizes=_HD, seconds=(4, 6, 8), first_frame=True, last_frame=True, reference_images=3,
    audio=True, seed=True, extend=True, extend_seconds=(7,),
)  # fmt: skip
MODELS: dict[str, Capabilities] = {
    "google/veo-3.1": _VEO,
    "google/veo-3.1-fast": replace(_VEO, reference_images=0),
    "alibaba/wan-2.6": Capabilities(
        sizes=(*_HD, "960x960"), seconds=(5, 10, 15), first_frame=True, audio=True, seed=True
    ),
    "kwaivgi/kling-v3.0-pro": Capabilities(
        sizes=("1920x1080", "1080x1920"), seconds=tuple(range(3, 16)), first_frame=True,
        last_frame=True, audio=True,
    ),
    "bytedance/seedance-2.0": Capabilities(
        sizes=("1280x720", "720x1280", "960x960"), seconds=tuple(range(4, 16)),
        first_frame=True, last_frame=True, reference_images=9, audio=True, seed=True, edit=True,
    ),
}  # fmt: skip
# A model an admin adds: every size OpenRouter can express, any duration, both frames,
# references, sound and a seed; OpenRouter's 400 (which costs nothing) refuses what it
# does not take. check() narrows it by /videos/models where it can. Its list does not
# say which models continue a job, so an unknown one is extended by stitching here
# (which any model with a first frame can), never by a continuation it may refuse.
DEFAULT_CAPABILITIES = Capabilities(
    sizes=tuple(SHAPES), first_frame=True, last_frame=True, reference_images=3, audio=True,
    seed=True,
)  # fmt: skip

# /videos/models per base URL: (when read, on the monotonic clock; the models by id).
_listed: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}
_listed_lock = threading.Lock()


def openrouter_error(response: httpx.Response) -> tuple[str, str]:
    """OpenRouter's ``{"error": {"code": <HTTP status>, "message", "metadata"?}}``: a
    moderation refusal (403 whose metadata has ``reasons`` / ``flagged_input``) is
    ``moderation_blocked`` with its reasons; 402 is ``insufficient_credits``."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", str(error or "")
    message = str(error.get("message") or "")
    metadata: dict[str, Any] = error.get("metadata") or {}
    if not isinstance(metadata, dict):
        metadata = {}
    reasons = [str(r) for r in metadata.get("reasons") or [] if r]
    status = response.status_code
    if status == 403 and (reasons or "flagged_input" in metadata):
        said = f" ({', '.join(reasons)})" if reasons else ""
        return "moderation_blocked", (message or "The request was flagged by moderation") + said
    code = {400: "invalid_request", 402: "insufficient_credits", 409: "conflict"}.get(status, "")
    return code, message


def is_policy(message: str) -> bool:
    said = message.lower()
    return any(word in said for word in POLICY_WORDS)


def shape(size: str) -> tuple[str, str] | None:
    """(aspect ratio, resolution) of a size in OpenRouter's words; None if it has none."""
    if size in SHAPES:
        return SHAPES[size]
    try:
        ratio, resolution = size_aspect_ratio(size), size_resolution(size)
    except ValueError:
        return None
    resolution = "4K" if resolution == "4k" else resolution
    if ratio not in ASPECT_RATIOS or resolution not in RESOLUTIONS:
        return None
    return ratio, resolution


def listed_capabilities(entry: Mapping[str, Any]) -> Capabilities:
    """What a ``VideoModel`` of ``/videos/models`` says a model takes (its unknown fields,
    null in the listing, keep the default)."""
    d = DEFAULT_CAPABILITIES
    aspects, resolutions = entry.get("supported_aspect_ratios"), entry.get("supported_resolutions")
    exact = set(entry.get("supported_sizes") or ())
    sizes = d.sizes
    if aspects or resolutions or exact:
        sizes = tuple(
            s for s, (a, r) in SHAPES.items()
            if s in exact
            or ((not aspects or a in aspects) and (not resolutions or r in resolutions))
        )  # fmt: skip
    frames, durations = entry.get("supported_frame_images"), entry.get("supported_durations")
    audio, seed = entry.get("generate_audio"), entry.get("seed")
    return replace(
        d,
        sizes=sizes,
        seconds=tuple(int(s) for s in durations) if durations else d.seconds,
        first_frame="first_frame" in frames if isinstance(frames, list) else d.first_frame,
        last_frame="last_frame" in frames if isinstance(frames, list) else d.last_frame,
        audio=audio if isinstance(audio, bool) else d.audio,
        seed=seed if isinstance(seed, bool) else d.seed,
    )


class OpenRouterEngine:
    """Drives OpenRouter video jobs. ``client`` may be injected (tests)."""

    kind = "openrouter"
    remote_variants = ("video",)  # the studio makes the thumbnail and spritesheet

    def __init__(
        self, *, name: str, api_key: Callable[[], str], base_url: str = "",
        timeout: float = 60.0, connect_timeout: float = 5.0,
        options: Mapping[str, Any] | None = None, client: httpx.Client | None = None,
        backoff: Backoff | None = None, sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        self.name = name
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = api_key
        self.options = dict(options or {})
        # Continue a job here (previous_job_id), or let the runner stitch from the last frame.
        self._owned: httpx.Client | None = None
        if client is None:
            client = self._owned = new_client(timeout, connect_timeout)
        self.http = VendorClient(
            name=name, base_url=self.base_url, headers=self._headers, client=client,
            backoff=backoff, sleep=sleep, error_of=openrouter_error, secret=api_key,
        )  # fmt: skip
        # A signed link's host gets no key.
        self.cdn = VendorClient(
            name=name, base_url="", headers=lambda: {}, client=client, backoff=backoff,
            sleep=sleep, error_of=openrouter_error,
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: ProviderRow) -> OpenRouterEngine:
        base_url = row.base_url or DEFAULT_BASE_URL
        return cls(
            name=row.name, api_key=key_from(env=row.api_key_env, file=row.api_key_file),
            base_url=base_url, timeout=row.timeout_seconds,
            connect_timeout=row.connect_timeout_seconds, options=row.options or {},
            client=shared_client(base_url, row.timeout_seconds, row.connect_timeout_seconds),
        )  # fmt: skip

    @classmethod
    def capabilities_for(cls, model: str) -> Capabilities:
        """A seeded model's documented limits, else the permissive default (no network:
        ``check`` narrows an unknown model by OpenRouter's list)."""
        return MODELS.get(model, DEFAULT_CAPABILITIES)

    def __repr__(self) -> str:
        return f"<OpenRouterEngine {self.name} {self.base_url}>"

    @property
    def requests(self) -> dict[str, int]:
        """Requests sent, by endpoint."""
        return dict(self.http.requests + self.cdn.requests)

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()

    # --- the remote engine (base.RemoteEngine) -------------------------------------

    def check(self, request: RemoteRequest) -> None:
        self._validate(request)

    def submit(self, request: RemoteRequest) -> str:
        caps = self._validate(request)
        body = self._body(request, caps)
        try:
            data = self.http.json("POST", "/videos", "create", json=body)
        except VendorHTTPError as exc:
            raise self._refused(exc, request.operation) from None
        job_id = str(data.get("id") or "")
        if not job_id:
            raise OutcomeUnknown("upstream_outcome_unknown", f"The provider {self.name} "
                                 "answered the create without a job id.")  # fmt: skip
        return job_id

    def status(self, job_id: str) -> RemoteStatus:
        data = self._job(job_id)
        word = str(data.get("status") or "")
        poll = self.options.get("poll_interval_seconds")
        poll_after = float(poll) if isinstance(poll, int | float) and poll > 0 else None
        if word == "pending":
            return RemoteStatus(id=job_id, status="queued", progress=0, poll_after=poll_after)
        if word == "completed":
            return RemoteStatus(id=job_id, status="completed", progress=100)
        if word in ("failed", "cancelled", "expired"):
            return _failed(job_id, word, str(data.get("error") or ""))
        if word != "in_progress":
            logger.info("OpenRouter job %s has an unknown status %r; still polling", job_id, word)
        return RemoteStatus(id=job_id, status="in_progress", progress=0, poll_after=poll_after)

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        return []  # OpenRouter lists no jobs: a create whose answer was lost cannot be found

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        if variant != "video":
            raise ProviderError("upstream_invalid_asset", f"{self.name} gives only the video.")
        try:
            return self.http.download(
                f"/videos/{quote(job_id, safe='')}/content", dest, "content", params={"index": "0"}
            )
        except VendorHTTPError as exc:
            if exc.status not in GONE_STATUSES:
                raise
        # The content endpoint no longer serves it: OpenRouter's stored copy, by a fresh
        # read's signed link, may still be there (until expires_at).
        urls = [u for u in self._job(job_id).get("urls") or [] if isinstance(u, str)]
        if not urls or not urls[0].startswith(("https://", "http://")):
            raise RemoteGone("upstream_assets_expired", f"{self.name} no longer has the video.")
        try:
            return self.cdn.download(urls[0], dest, "signed video", authenticated=False)
        except VendorHTTPError as exc:
            if exc.status in GONE_STATUSES:
                raise RemoteGone("upstream_assets_expired", exc.message) from None
            raise

    def delete(self, job_id: str) -> bool:
        # No delete in the API: the stored copy expires at OpenRouter (expires_at).
        logger.info("OpenRouter cannot delete job %s; its output expires there", job_id)
        return False

    def probe(self) -> str:
        """The key's own record (``GET /key``: a refused key answers 401), then the video
        models OpenRouter lists now (kept for ``check``)."""
        key = self.http.json("GET", "/key", "key").get("data") or {}
        models = self.list_models(fresh=True)
        seen = ", ".join(sorted(models)[:8]) + (", ..." if len(models) > 8 else "")
        left = key.get("limit_remaining")
        credit = f", {left} credits left on it" if isinstance(left, int | float) else ""
        label = key.get("label") or "unlabelled"
        return (f"{self.base_url} accepted the key ({label}{credit}); "
                f"{len(models)} video models: {seen or 'none'}")  # fmt: skip

    def list_models(self, *, fresh: bool = False) -> dict[str, dict[str, Any]]:
        """``GET /videos/models`` by id, cached per base URL for ``MODELS_TTL_SECONDS``."""
        with _listed_lock:
            cached = _listed.get(self.base_url)
        if cached is not None and not fresh and time.monotonic() - cached[0] < MODELS_TTL_SECONDS:
            return cached[1]
        data = self.http.json("GET", "/videos/models", "models").get("data") or []
        models = {str(m["id"]): m for m in data if isinstance(m, dict) and m.get("id")}
        with _listed_lock:
            _listed[self.base_url] = (time.monotonic(), models)
        return models

    def webhook(self, headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent | None:
        """OpenRouter's delivery: ``X-OpenRouter-Signature: t=<unix>,v1=<hex>``, the
        HMAC-SHA256 of ``"{t},{raw body}"`` with the workspace's signing secret, within
        300 s; ``X-OpenRouter-Idempotency-Key`` (``{job}-{status}``) names the message."""
        if not secret:
            raise WebhookRefused("No webhook signing secret is set for this provider.")
        lowered = {k.lower(): v for k, v in headers.items()}
        parts: dict[str, list[str]] = {}
        for item in lowered.get("x-openrouter-signature", "").split(","):
            key, _, value = item.strip().partition("=")
            parts.setdefault(key, []).append(value.strip())
        stamp, signatures = (parts.get("t") or [""])[0], parts.get("v1") or []
        if not stamp or not signatures:
            raise WebhookRefused("Missing or malformed X-OpenRouter-Signature.")
        try:
            sent = int(stamp)
        except ValueError:
            raise WebhookRefused("The webhook timestamp is not a number.") from None
        expected = hmac.new(secret.encode(), stamp.encode() + b"," + body, hashlib.sha256)
        digest = expected.hexdigest()
        if not any(hmac.compare_digest(digest, s.lower()) for s in signatures):
            raise WebhookRefused("The webhook signature does not verify.")
        if abs(time.time() - sent) > WEBHOOK_TOLERANCE_SECONDS:
            raise WebhookRefused("The webhook timestamp is too old or too far in the future.")
        try:
            event = json.loads(body)
            event_type = str(event["type"])
            data = event.get("data") or {}
            job_id = str(data.get("id") or "") if isinstance(data, dict) else ""
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WebhookRefused("The body is not a JSON event with a 'type'.") from None
        if not event_type.startswith("video.generation.") or not job_id:
            return None
        key = lowered.get("x-openrouter-idempotency-key", "").strip()
        webhook_id = key or "sha256:" + hashlib.sha256(body).hexdigest()
        return WebhookEvent(webhook_id=f"openrouter:{webhook_id}", job_id=job_id,
                            event_type=event_type, final=event_type in FINAL_EVENTS)  # fmt: skip

    # --- the request ---------------------------------------------------------------

    def native_extend(self, request: RemoteRequest) -> bool:
        """Whether OpenRouter continues this video itself (``previous_job_id``): on the
        models that can (Veo), unless the provider's options turn it off; the others (Wan,
        Kling, ...) get a create from the source's last frame, stitched by the runner."""
        if self.options.get("native_extend") is False:
            return False
        try:
            return self._capabilities(request.model).extend
        except ProviderError:
            return True  # check() refuses the request, saying why

    def _capabilities(self, model: str) -> Capabilities:
        """The seeded table, else what OpenRouter's list says of the model (the default
        when it cannot be read: the create's own 400 then refuses)."""
        if model in MODELS:
            return MODELS[model]
        try:
            entry = self.list_models().get(model)
        except ProviderError as exc:
            logger.info("OpenRouter's model list cannot be read (%s); %s unchecked", exc, model)
            return DEFAULT_CAPABILITIES
        if entry is None:
            return DEFAULT_CAPABILITIES
        caps = listed_capabilities(entry)
        if not caps.sizes:
            listed = entry.get("supported_resolutions") or entry.get("supported_sizes") or []
            words = ", ".join(map(str, listed))
            raise ProviderError("unsupported_size", f"The model {model} makes {words}: "
                                "none of the studio's sizes.")  # fmt: skip
        return caps

    def _validate(self, request: RemoteRequest) -> Capabilities:
        """Refuse what the model cannot take, naming what it can, before anything is sent."""
        model, op = request.model, request.operation
        if request.with_characters:
            raise ProviderError("characters_unsupported", f"The provider {self.name} does not "
                                "take characters; remove them or pick a model that runs on "
                                "the local renderer.")  # fmt: skip
        if op == "remix":
            editors = ", ".join(m for m, c in MODELS.items() if c.edit)
            raise ProviderError("unsupported_operation", f"No OpenRouter model remixes a "
                                f"video; {editors} can edit one.")  # fmt: skip
        if op not in ("create", "extend", "edit"):
            raise ProviderError("unsupported_operation", f"{self.name} cannot {op} a video.")
        caps = self._capabilities(model)
        if not caps.can(op):
            able = ", ".join(m for m, c in MODELS.items() if c.can(op))
            raise ProviderError("unsupported_operation", f"The model {model} cannot {op} a "
                                f"video on OpenRouter; models that can: {able}.")  # fmt: skip
        if op == "extend":
            self._validate_extension(request, caps)
            return caps
        where = shape(request.size)
        if where is None or (caps.sizes and request.size not in caps.sizes):
            why = "" if where else " (OpenRouter's aspect ratios and resolutions name no such size)"
            raise ProviderError("unsupported_size", f"The model {model} makes "
                                f"{', '.join(caps.sizes)}; not {request.size}{why}.")  # fmt: skip
        if caps.seconds and request.seconds not in caps.seconds:
            raise ProviderError("unsupported_seconds", f"The model {model} makes "
                                f"{', '.join(map(str, caps.seconds))} seconds; not "
                                f"{request.seconds}.")  # fmt: skip
        references = len(request.reference_images)
        unsupported = [
            (request.reference_image is not None and not caps.first_frame,
             "input_reference", "does not start from an image"),
            (request.last_frame is not None and not caps.last_frame,
             "last_frame", "does not take a last frame"),
            (references > caps.reference_images, "reference_images",
             f"takes up to {caps.reference_images} reference images"),
            (bool(request.negative_prompt), "negative_prompt",
             "takes no negative prompt on OpenRouter (its schema has none)"),
            (request.audio is not None and not caps.audio, "audio", "makes no sound"),
        ]  # fmt: skip
        for wrong, what, why in unsupported:
            if wrong:
                raise ProviderError(f"unsupported_{what}", f"The model {model} {why}.")
        if references and (request.reference_image or request.last_frame):
            # OpenRouter would make it from the frames and drop the references unsaid.
            raise ProviderError("unsupported_inputs", f"The model {model} takes a first (and "
                                "last) frame or reference images, not both.")  # fmt: skip
        if op == "edit":
            self._source(request)
        return caps

    def _validate_extension(self, request: RemoteRequest, caps: Capabilities) -> None:
        model = request.model
        if caps.extend_seconds and request.segment_seconds not in caps.extend_seconds:
            raise ProviderError("unsupported_seconds", f"The model {model} extends by "
                                f"{', '.join(map(str, caps.extend_seconds))} seconds a step; "
                                f"not {request.segment_seconds}.")  # fmt: skip
        if not request.source_id or request.source_upload is not None:
            raise ProviderError("unsupported_source", f"Only videos made on {self.name} "
                                "continue there; this one was made elsewhere. Extend it with "
                                "a model of the provider that made it.")  # fmt: skip

    def _source(self, request: RemoteRequest) -> Path:
        """The video an edit sends as its reference, if small enough to go inline."""
        source = request.source_upload or request.source_file
        if source is None or not source.exists():
            raise ProviderError("source_missing", "The source video no longer exists.")
        limit_mb = float(self.options.get("max_inline_video_mb") or 30)
        size = source.stat().st_size
        if size > limit_mb * (1 << 20):
            raise ProviderError("source_too_large", f"The source video "
                                f"({size / (1 << 20):.1f} MB) is larger than the {limit_mb:g} "
                                f"MB {self.name} takes inline.")  # fmt: skip
        return source

    def _body(self, request: RemoteRequest, caps: Capabilities) -> dict[str, Any]:
        """``VideoGenerationRequest`` as the SDK serialises it (unset fields left out)."""
        body: dict[str, Any] = {"model": request.model, "prompt": request.prompt}
        if request.webhook_url.startswith("https://"):
            body["callback_url"] = request.webhook_url
        elif request.webhook_url:
            logger.info("%s: not sending callback_url %s (OpenRouter takes HTTPS only)",
                        self.name, request.webhook_url)  # fmt: skip
        if request.operation == "extend":
            # The continuation runs on the source's model and shape; a fixed step's length
            # is the model's own, so it is not sent.
            body["previous_job_id"] = request.source_id
            if len(caps.extend_seconds) != 1:
                body["duration"] = request.segment_seconds
            return body
        aspect_ratio, resolution = shape(request.size) or ("", "")
        body.update(duration=request.seconds, resolution=resolution, aspect_ratio=aspect_ratio)
        frames = [
            {"type": "image_url", "image_url": {"url": data_uri(path)}, "frame_type": kind}
            for path, kind in ((request.reference_image, "first_frame"),
                               (request.last_frame, "last_frame")) if path is not None
        ]  # fmt: skip
        if frames:
            body["frame_images"] = frames
        references: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {"url": data_uri(p)}}
            for p in request.reference_images
        ]
        if request.operation == "edit":
            video = data_uri(self._source(request), "video/mp4")
            references.append({"type": "video_url", "video_url": {"url": video}})
        if references:
            body["input_references"] = references
        if request.audio is not None:
            body["generate_audio"] = request.audio
        if request.seed is not None and caps.seed:
            body["seed"] = request.seed
        return body

    def _refused(self, exc: VendorHTTPError, operation: str) -> ProviderError:
        if operation == "extend" and exc.status == 404:
            return ProviderError("source_gone_upstream", f"The source's job on {self.name} is "
                                 "gone (OpenRouter keeps a job's output only until it expires), "
                                 f"so it cannot be continued there: {exc.message}")  # fmt: skip
        if exc.status == 402:
            return ProviderError("insufficient_credits", f"The OpenRouter account of the "
                                 f"provider {self.name} has too few credits for this video "
                                 f"(an operator must add credits): {exc.message}")  # fmt: skip
        if exc.code == "invalid_request":
            said = f"OpenRouter refused the request: {exc.message}"
            return ProviderError("invalid_request", said)
        return exc

    # --- reads ---------------------------------------------------------------------

    def _job(self, job_id: str) -> dict[str, Any]:
        try:
            return self.http.json("GET", f"/videos/{quote(job_id, safe='')}", "status")
        except VendorHTTPError as exc:
            if exc.status == 404:
                raise RemoteGone(exc.code, exc.message) from None
            raise

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key()}", "Accept": "application/json"}


def _failed(job_id: str, word: str, error: str) -> RemoteStatus:
    """A job that ended without a video, in the studio's words (vendors.md): a refusal by
    a moderation or safety check is moderation_blocked with OpenRouter's own reason."""
    if word == "cancelled":
        code, fallback = "cancelled", "The job was cancelled at OpenRouter."
    elif word == "expired":
        code, fallback = "expired", "The job expired at OpenRouter before it finished."
    elif is_policy(error):
        code, fallback = "moderation_blocked", ""
    else:
        code, fallback = "upstream_failed", "The job failed at OpenRouter."
    return RemoteStatus(id=job_id, status="failed", progress=100, error_code=code,
                        error_message=error or fallback)  # fmt: skip
