"""Google Gemini Omni on the Gemini API, through the Interactions API.

One interaction is one job: ``POST /v1/interactions`` with ``background: true`` makes it,
``GET /v1/interactions/{id}`` says how it is going and, once ``completed``, where its
video is (``output_video``, or the last ``model_output`` step: a file URI fetched with the
key, or inline base64). Edit, remix and extend are new interactions that continue the
source's own (``previous_interaction_id``); a source made elsewhere is sent as a video.

httpx through ``VendorClient``, not ``google-genai``'s ``client.interactions``: the SDK
(3.6.1) retries a create on 408/409/429/5xx and on dropped connections (four times by
default), and hides whether a failed create was sent at all; the studio must send a
create at most once and know when its outcome is unknown. The wire format below is the
SDK's (``google/genai/_gaos``: ``interactions.py``, ``types/interactions/``).

``Provider.options`` (all optional):

- ``api_version``: the Interactions API's version in its path (default ``"v1"``;
  ``"v1beta"`` is the same resource).
- ``probe_model``: the model ``probe()`` asks about (default ``gemini-omni-1.1-flash``).
- ``delivery``: ``"uri"`` (default: the video is a file fetched afterwards) or
  ``"inline"`` (base64 in the finished interaction).
- ``max_inline_video_mb``: the largest stored video sent inline as the source of an edit
  or extension made elsewhere (default 20, the Gemini API's inline request limit).
- ``webhook_config``: true to name the studio's webhook address in each create
  (``webhook_config.uris``). Off by default: per-request URIs replace the project's
  registered webhooks, and Google signs those deliveries with RS256 JWTs, not the
  ``whsec_`` HMAC that ``webhook()`` checks. Register a static webhook instead
  (``POST /v1beta/webhooks``, events ``interaction.completed`` / ``interaction.failed``)
  pointing at ``/webhooks/providers/<name>`` and put its signing secret in the
  variable named by the row's ``webhook_secret_env``.

The API key is read per call and sent only in ``x-goog-api-key`` to the row's API host
or Google's (a redirect to another host drops it); it is in no repr, message or log line.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from videos_app.webhooks import signing

from .base import (
    OutcomeUnknown,
    ProviderError,
    RemoteGone,
    RemoteRequest,
    RemoteStatus,
    WebhookEvent,
    WebhookRefused,
)
from .capabilities import Capabilities
from .http import Backoff, key_from, new_client, shared_client
from .vendor import MAX_VIDEO_BYTES, VendorClient, VendorHTTPError, json_error

if TYPE_CHECKING:
    from .models import Provider as ProviderRow

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_MODEL = "gemini-omni-1.1-flash"
KEY_HEADER = "x-goog-api-key"

# The API's sizes: 16:9 and 9:16 at 360p, 720p, 1080p and 4K.
SIZES = (
    "640x360", "360x640", "1280x720", "720x1280",
    "1920x1080", "1080x1920", "3840x2160", "2160x3840",
)  # fmt: skip
SECONDS = tuple(range(3, 11))  # 3-10 s a generation (an extension adds as much)

# Seeded from vendors.md 1a and Google's model pages: first and last frame, reference
# images (three on 1.1; six listed for 1.2), seed, edit and extend by interaction. No
# negative prompt and no way to turn the sound off (it always makes sound), so neither
# is offered. A remix is an edit of the source's interaction (see ``_operation``).
_OMNI = Capabilities(
    sizes=SIZES, seconds=SECONDS, first_frame=True, last_frame=True, reference_images=3,
    audio=False, seed=True, negative_prompt=False, extend=True, extend_seconds=SECONDS,
    edit=True, remix=True,
)  # fmt: skip
MODELS: dict[str, Capabilities] = {
    "gemini-omni-1.1-flash": _OMNI,
    "gemini-omni-1.2-flash": replace(_OMNI, reference_images=6),
}

# Interaction statuses (``types/interactions/interaction.py``) -> the studio's.
RUNNING = {"queued": "queued", "idle": "queued", "in_progress": "in_progress"}
# Error codes naming a policy refusal (the code is a URI or a word; matched upper-case).
POLICY_WORDS = ("SAFETY", "POLICY", "BLOCKED", "PROHIBITED")
POLICY_TOKENS = frozenset({"RAI", "CSAM", "SPII"})
# Webhook events (``types/webhooks/webhook.py``) that say an interaction ended.
FINAL_EVENTS = frozenset(
    {"interaction.completed", "interaction.failed", "interaction.cancelled", "video.generated"}
)
GONE_STATUSES = (403, 404, 410)  # a result link that expired


def google_error(name: str) -> Callable[[httpx.Response], tuple[str, str]]:
    """Google's envelope ``{"error": {"code", "message", "status", "details"}}``: its
    ``status`` word and message. A refused key is a 400 (``API_KEY_INVALID``) or 403 on
    Google, not a 401: say it is the studio's key, as ``VendorClient`` does for 401s."""

    def read(response: httpx.Response) -> tuple[str, str]:
        code, message = json_error(response)
        reason = ""
        try:
            details = response.json()["error"].get("details") or []
            reason = next(
                (str(d["reason"]) for d in details if isinstance(d, dict) and d.get("reason")),
                "",
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        if reason.startswith("API_KEY_"):
            return reason, (
                f"The provider {name} did not accept the studio's API key for it "
                f"(an operator must fix it): {message}"
            )
        return code, message

    return read


class GeminiOmniEngine:
    """Drives Gemini Omni interactions. ``client`` / ``download_client`` may be injected."""

    kind = "gemini_omni"
    remote_variants = ("video",)  # the studio makes the thumbnail and spritesheet
    native_extend = True

    def __init__(
        self,
        *,
        name: str,
        api_key: Callable[[], str],
        base_url: str = "",
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        options: Mapping[str, Any] | None = None,
        client: httpx.Client | None = None,
        download_client: httpx.Client | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = api_key
        self.options = dict(options or {})
        self.api_version = str(self.options.get("api_version") or "v1").strip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._owned: list[httpx.Client] = []
        if client is None:
            client = new_client(timeout, connect_timeout)
            self._owned.append(client)
        self.http = self._vendor(client, backoff, sleep)
        self._download_client = download_client
        self._files: VendorClient | None = None
        self._backoff, self._sleep = backoff, sleep
        # The video part of each job's last read, so fetch needs no second read.
        self._videos: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_row(cls, row: ProviderRow) -> GeminiOmniEngine:
        base_url = row.base_url or DEFAULT_BASE_URL
        return cls(
            name=row.name,
            api_key=key_from(env=row.api_key_env, file=row.api_key_file),
            base_url=base_url,
            timeout=row.timeout_seconds,
            connect_timeout=row.connect_timeout_seconds,
            options=row.options or {},
            client=shared_client(base_url, row.timeout_seconds, row.connect_timeout_seconds),
        )

    @classmethod
    def capabilities_for(cls, model: str) -> Capabilities:
        """The model's documented limits; an unknown (newer) Omni model gets 1.1's."""
        return MODELS.get(model, MODELS[DEFAULT_MODEL])

    def __repr__(self) -> str:
        return f"<GeminiOmniEngine {self.name} {self.base_url}>"

    @property
    def requests(self) -> Counter[str]:
        """Requests sent, by endpoint (API and file downloads together)."""
        total = Counter(self.http.requests)
        if self._files is not None:
            total.update(self._files.requests)
        return total

    def close(self) -> None:
        for client in self._owned:
            client.close()

    # --- the remote engine (base.RemoteEngine) -------------------------------------

    def check(self, request: RemoteRequest) -> None:
        self._validate(request)

    def submit(self, request: RemoteRequest) -> str:
        self._validate(request)
        source_id, video = self._source(request)
        try:
            return self._create(request, source_id=source_id, video=video)
        except VendorHTTPError as exc:
            # The source's interaction is gone there (expired, deleted): a 404 created
            # nothing, so sending our stored copy instead is no second create.
            stored = request.source_file
            if exc.status != 404 or not source_id or stored is None or not stored.exists():
                raise
            logger.info("the source interaction is gone on %s; sending the stored file", self.name)
            self._check_inline(stored)
            return self._create(request, source_id="", video=stored)

    def status(self, job_id: str) -> RemoteStatus:
        return interaction_status(self._read(job_id))

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        return []  # the Interactions API cannot list: a lost create cannot be found

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        if variant != "video":
            raise ProviderError("upstream_invalid_asset", f"{self.name} gives only the video.")
        video = self._videos.get(job_id) or video_of(self._read(job_id))
        try:
            return self._save(video, dest)
        except VendorHTTPError as exc:
            if exc.status not in GONE_STATUSES:
                raise
        # The link expired: a fresh read may carry a fresh one; the same one is gone.
        fresh = video_of(self._read(job_id))
        if fresh is None or fresh == video:
            raise RemoteGone("upstream_assets_expired", f"{self.name} no longer has the video.")
        try:
            return self._save(fresh, dest)
        except VendorHTTPError as exc:
            if exc.status in GONE_STATUSES:
                raise RemoteGone(exc.code, exc.message) from None
            raise

    def delete(self, job_id: str) -> bool:
        try:
            self.http.send("DELETE", self._path(job_id), "delete")
        except VendorHTTPError as exc:
            if exc.status != 404:
                raise
        return True

    def cancel(self, job_id: str) -> bool:
        """Stop the interaction; True when it stopped or had already ended."""
        try:
            # Cancelling twice does no harm: safe to retry after a 5xx.
            self.http.send("POST", self._path(job_id) + "/cancel", "cancel", idempotent=True)
        except VendorHTTPError as exc:
            if exc.status == 404:
                return True
            if exc.status not in (400, 409):
                raise
            # Refused as already finished? Only an ended interaction counts as stopped.
            return self.status(job_id).status in ("completed", "failed")
        return True

    def probe(self) -> str:
        """One authenticated read: the model this provider is checked with."""
        model = str(self.options.get("probe_model") or DEFAULT_MODEL)
        try:
            data = self.http.json("GET", f"/v1beta/models/{model}", "model")
        except VendorHTTPError as exc:
            if exc.status == 404 and not exc.code.startswith("API_KEY_"):
                raise ProviderError(
                    "model_not_found", f"The Gemini API of {self.name} has no model {model}."
                ) from None
            raise
        label = data.get("displayName") or data.get("display_name") or model
        return f"{data.get('name') or 'models/' + model} ({label}) answered on {self.base_url}"

    def webhook(self, headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent | None:
        """A static webhook's Standard Webhooks message (``whsec_`` HMAC, 300 s) about an
        interaction: ``{"type": "interaction.completed", "version": "v1", "timestamp",
        "data": {"id": <interaction id>, ...}}`` (Google's thin payload; the job is read
        by polling). None for events about anything else (batches). A malformed secret
        raises ``ValueError`` (the operator's to fix)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            webhook_id = signing.verify(secret, lowered, body)
        except signing.SignatureError as exc:
            raise WebhookRefused(str(exc)) from None
        try:
            event = json.loads(body)
            event_type = str(event["type"])
            data = event.get("data") or {}
            if not isinstance(data, dict):
                raise TypeError("data is not an object")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WebhookRefused("The body is not a JSON event with a 'type'.") from None
        if not event_type.startswith(("interaction.", "video.")):
            return None
        job_id = str(data.get("id") or data.get("interaction_id") or "")
        if not job_id:
            return None
        return WebhookEvent(
            webhook_id=webhook_id,
            job_id=job_id,
            event_type=event_type,
            final=event_type in FINAL_EVENTS,
        )

    # --- the request ---------------------------------------------------------------

    def _validate(self, request: RemoteRequest) -> None:
        """Refuse what the model cannot make, naming what it can, before anything is sent."""
        model = request.model
        caps = self.capabilities_for(model)
        if request.with_characters:
            raise ProviderError(
                "characters_unsupported",
                f"The provider {self.name} does not take characters; remove them or pick "
                "a model that runs on the local renderer.",
            )
        op = request.operation
        if op not in ("create", "remix", "edit", "extend"):
            raise ProviderError("unsupported_operation", f"{self.name} cannot {op} a video.")
        if not caps.can(op):
            able = [m for m, c in MODELS.items() if c.can(op)]
            raise ProviderError(
                "unsupported_operation",
                f"The model {model} cannot {op} a video; models that can: {', '.join(able)}.",
            )
        if request.size not in caps.sizes:
            raise ProviderError(
                "unsupported_size",
                f"The model {model} makes {', '.join(caps.sizes)}; not {request.size}.",
            )
        seconds = request.segment_seconds if op == "extend" else request.seconds
        allowed = caps.extend_seconds if op == "extend" else caps.seconds
        if seconds not in allowed:
            what = "extends by" if op == "extend" else "makes"
            raise ProviderError(
                "unsupported_seconds",
                f"The model {model} {what} {allowed[0]} to {allowed[-1]} seconds; not {seconds}.",
            )
        references = len(request.reference_images)
        if references > caps.reference_images:
            raise ProviderError(
                "unsupported_reference_images",
                f"The model {model} takes up to {caps.reference_images} reference images.",
            )
        frames = request.reference_image is not None or request.last_frame is not None
        if op == "create" and references and frames:
            # The model tells the frames from references by the images' count and order.
            raise ProviderError(
                "unsupported_inputs",
                f"The model {model} takes a first (and last) frame or reference images, not both.",
            )
        if request.last_frame is not None and request.reference_image is None:
            raise ProviderError(
                "unsupported_inputs",
                f"The model {model} ends on a last frame only when it also starts from a "
                "first frame.",
            )
        if request.negative_prompt:
            raise ProviderError(
                "unsupported_negative_prompt",
                "No Gemini Omni model takes a negative prompt; say what to avoid in the prompt.",
            )
        if request.audio is False:
            raise ProviderError(
                "unsupported_audio", "Gemini Omni always makes sound; it cannot be told not to."
            )
        if op != "create":
            _source_id, video = self._source(request)
            if video is not None:
                self._check_inline(video)

    def _source(self, request: RemoteRequest) -> tuple[str, Path | None]:
        """(the source's interaction id, or a video file to send instead)."""
        if request.operation == "create":
            return "", None
        upload = request.source_upload
        if upload is not None:
            return "", upload
        if request.source_id:
            return request.source_id, None
        if request.source_file is not None and request.source_file.exists():
            return "", request.source_file
        raise ProviderError("source_missing", "The source video no longer exists.")

    def _check_inline(self, video: Path) -> None:
        limit_mb = float(self.options.get("max_inline_video_mb") or 20)
        size = video.stat().st_size
        if size > limit_mb * (1 << 20):
            raise ProviderError(
                "source_too_large",
                f"The source video ({size / (1 << 20):.1f} MB) was not made on {self.name} "
                f"and is larger than the {limit_mb:g} MB it takes inline.",
            )

    def _create(self, request: RemoteRequest, *, source_id: str, video: Path | None) -> str:
        data = self.http.json(
            "POST", f"/{self.api_version}/interactions", "create",
            json=self._body(request, source_id=source_id, video=video),
        )  # fmt: skip
        job_id = data.get("id")
        if not job_id:
            raise OutcomeUnknown(
                "upstream_outcome_unknown",
                f"The provider {self.name} answered the create without an interaction id.",
            )
        return str(job_id)

    def _body(
        self, request: RemoteRequest, *, source_id: str, video: Path | None
    ) -> dict[str, Any]:
        """The create, as the SDK sends it: one ``user_input`` step of content parts."""
        op = request.operation
        content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt}]
        task = _operation(op)
        if op == "create":
            # Order matters: the first image is the first frame, the second the last.
            frames = [p for p in (request.reference_image, request.last_frame) if p is not None]
            content += [_image_part(p) for p in frames]
            content += [_image_part(p) for p in request.reference_images]
            if frames:
                task = "image_to_video"
            elif request.reference_images:
                task = "reference_to_video"
        elif op in ("edit", "remix"):
            content += [_image_part(p) for p in request.reference_images]
        if video is not None:
            encoded = base64.b64encode(video.read_bytes()).decode()
            content.append({"type": "video", "data": encoded, "mime_type": "video/mp4"})
        seconds = request.segment_seconds if op == "extend" else request.seconds
        delivery = "inline" if self.options.get("delivery") == "inline" else "uri"
        body: dict[str, Any] = {
            "model": request.model,
            "background": True,
            "input": [{"type": "user_input", "content": content}],
            "response_format": {
                "type": "video",
                "aspect_ratio": request.aspect_ratio,
                "resolution": request.resolution,
                "duration": f"{seconds}s",
                "delivery": delivery,
            },
            "generation_config": {"video_config": {"task": task}},
        }
        if request.seed is not None:
            body["generation_config"]["seed"] = request.seed
        if source_id:
            body["previous_interaction_id"] = source_id
        if request.webhook_url and self.options.get("webhook_config"):
            body["webhook_config"] = {"uris": [request.webhook_url]}
        return body

    # --- reads and downloads -------------------------------------------------------

    def _read(self, job_id: str) -> dict[str, Any]:
        try:
            data = self.http.json("GET", self._path(job_id), "get", params={"stream": "false"})
        except VendorHTTPError as exc:
            if exc.status == 404:
                raise RemoteGone(exc.code, exc.message) from None
            raise
        video = video_of(data)
        if video is not None:
            self._videos[job_id] = video
        return data

    def _save(self, video: dict[str, Any] | None, dest: Path) -> int:
        """Write the video part's bytes into ``dest`` (inline data, or its URI)."""
        if video is None:
            raise RemoteGone("upstream_assets_expired", f"{self.name} gives no video for it.")
        if video.get("data"):
            try:
                raw = base64.b64decode(str(video["data"]), validate=True)
            except (binascii.Error, ValueError):
                raise ProviderError(
                    "upstream_invalid_asset", f"{self.name}'s inline video is not base64."
                ) from None
            if len(raw) > MAX_VIDEO_BYTES:
                raise ProviderError("upstream_invalid_asset", "The inline video is too large.")
            return dest.write_bytes(raw)
        uri = str(video.get("uri") or "")
        if not uri.startswith(("https://", "http://")):
            raise ProviderError(
                "upstream_invalid_asset", f"{self.name} gave a video address it cannot fetch."
            )
        # Google's file URIs are fetched with the key; anywhere else gets no key.
        return self._file_client().download(uri, dest, "video", authenticated=self._ours(uri))

    def _file_client(self) -> VendorClient:
        """Downloads follow redirects (file URIs answer 302 to storage), dropping the key
        on the way to any other host."""
        if self._files is None:
            client = self._download_client
            if client is None:
                client = new_client(
                    self.timeout,
                    self.connect_timeout,
                    follow_redirects=True,
                    event_hooks={"request": [self._drop_key_elsewhere]},
                )
                self._owned.append(client)
            self._files = self._vendor(client, self._backoff, self._sleep)
        return self._files

    def _drop_key_elsewhere(self, request: httpx.Request) -> None:
        if not self._ours(str(request.url)):
            request.headers.pop(KEY_HEADER, None)

    def _ours(self, url: str) -> bool:
        """Whether ``url`` is where the key belongs: the row's API host, or Google's own
        (file URIs name Google's host even when the row goes through a gateway)."""
        theirs = urlsplit(url)
        origins = {urlsplit(u)[:2] for u in (self.base_url, DEFAULT_BASE_URL)}
        return (theirs.scheme, theirs.netloc) in origins

    # --- plumbing ------------------------------------------------------------------

    def _vendor(
        self, client: httpx.Client, backoff: Backoff | None, sleep: Callable[[float], None]
    ) -> VendorClient:
        return VendorClient(
            name=self.name, base_url=self.base_url, headers=self._headers, client=client,
            backoff=backoff, sleep=sleep, error_of=google_error(self.name), secret=self._api_key,
        )  # fmt: skip

    def _headers(self) -> dict[str, str]:
        return {KEY_HEADER: self._api_key()}

    def _path(self, job_id: str) -> str:
        return f"/{self.api_version}/interactions/{job_id}"


def _operation(op: str) -> str:
    """The video task of a studio operation. A remix keeps the source's scene with a new
    prompt: on Omni that is an ``edit`` of the source's interaction (vendors.md: "Edit /
    remix: Omni (edit with previous_interaction_id)"), sent with the source's seed; a
    fresh text_to_video with the same seed would not keep the scene."""
    return {"create": "text_to_video", "remix": "edit", "edit": "edit", "extend": "extend"}[op]


def _image_part(path: Path) -> dict[str, str]:
    with Image.open(path) as image:
        mime = Image.MIME.get(image.format or "", "image/png")
    return {
        "type": "image",
        "data": base64.b64encode(path.read_bytes()).decode(),
        "mime_type": mime,
    }


def video_of(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The interaction's video part: ``output_video``, else the last video of the model
    output after the last user input (where the SDK finds ``output_video``)."""
    video = data.get("output_video")
    if isinstance(video, dict) and (video.get("uri") or video.get("data")):
        return video
    for step in reversed(data.get("steps") or []):
        if not isinstance(step, dict) or step.get("type") == "user_input":
            break
        if step.get("type") != "model_output":
            continue
        for item in reversed(step.get("content") or []):
            is_video = isinstance(item, dict) and item.get("type") == "video"
            if is_video and (item.get("uri") or item.get("data")):
                return dict(item)
    return None


def _output_text(data: Mapping[str, Any]) -> str:
    """What the model said, when it answered with words instead of a video."""
    if isinstance(data.get("output_text"), str):
        return str(data["output_text"])
    words: list[str] = []
    for step in data.get("steps") or []:
        if isinstance(step, dict) and step.get("type") == "model_output":
            words += [
                str(item.get("text") or "")
                for item in step.get("content") or []
                if isinstance(item, dict) and item.get("type") == "text"
            ]
    return " ".join(w for w in words if w).strip()


def is_policy_code(code: str) -> bool:
    upper = code.upper()
    tokens = set(re.split(r"[^A-Z0-9]+", upper))
    return any(word in upper for word in POLICY_WORDS) or bool(tokens & POLICY_TOKENS)


def _short_code(code: str) -> str:
    """An error code that is a URI (``https://…/errors/INTERNAL``) as its last word."""
    word = re.split(r"[/#:]", code.rstrip("/#"))[-1] if code else ""
    return word[:64]


def interaction_status(data: Mapping[str, Any]) -> RemoteStatus:
    """An interaction as the studio's status (vendors.md's status map)."""
    job_id = str(data.get("id") or "")
    status = str(data.get("status") or "")
    if status in RUNNING:
        return RemoteStatus(id=job_id, status=RUNNING[status], progress=0)
    if status == "completed" and video_of(data) is not None:
        return RemoteStatus(id=job_id, status="completed", progress=100)
    errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
    code = str(errors[0].get("code") or "") if errors else ""
    message = str(errors[0].get("message") or "") if errors else ""
    policy = next((e for e in errors if is_policy_code(str(e.get("code") or ""))), None)
    if policy is not None:
        # A safety or policy refusal: the vendor's own reason.
        reason = str(policy.get("message") or "") or "Gemini refused the request (policy)."
        return RemoteStatus(
            id=job_id, status="failed", progress=100,
            error_code="moderation_blocked", error_message=reason,
        )  # fmt: skip
    if status == "completed":
        said = _output_text(data)
        return RemoteStatus(
            id=job_id, status="failed", progress=100, error_code="upstream_no_video",
            error_message=message or said or "The interaction completed without a video.",
        )  # fmt: skip
    if status == "cancelled":
        return RemoteStatus(
            id=job_id, status="failed", progress=100, error_code="cancelled",
            error_message=message or "The interaction was cancelled at the provider.",
        )  # fmt: skip
    if status in ("failed", "incomplete", "budget_exceeded", "requires_action",
                  "requires_continuation"):  # fmt: skip
        fallback = "upstream_failed" if status == "failed" else status
        return RemoteStatus(
            id=job_id, status="failed", progress=100,
            error_code=(_short_code(code) if status == "failed" else "") or fallback,
            error_message=message or f"The interaction ended {status.replace('_', ' ')}.",
        )  # fmt: skip
    logger.info("interaction %s has an unknown status %r; still polling", job_id, status)
    return RemoteStatus(id=job_id, status="in_progress", progress=0)
