"""fal's queue API (``queue.fal.run``): one API in front of many video apps.

A route's upstream model is the fal app id (``fal-ai/kling-video/v2.1/master/text-to-video``).
``POST /{app}`` submits the app's own input JSON; the request then lives under the app's
*root*, its first two path segments (three for the ``workflows`` / ``comfy`` namespaces):
``/{root}/requests/{id}/status``, ``/{root}/requests/{id}`` (the result) and ``.../cancel``
(fal-client 1.0.3's ``AppId`` and ``SyncRequestHandle``). The job id is ``"{root}|{id}"``,
the root read from the submit's ``status_url``, so a restarted worker polls by id alone.

httpx through ``VendorClient``, not ``fal-client``: its queue host is one environment
variable read at import (``FAL_QUEUE_RUN_HOST``), and its ``submit`` retries the create
up to ten times on timeouts and dropped connections, hiding whether it was sent.

Each app has its own inputs, so how a request is written is a per-app spec: ``APPS`` for
a few well-known apps, else ``DEFAULT_SPEC``, with ``options["apps"][app_id]`` over it.
``Provider.options`` (all optional):

- ``apps``: ``{app_id: {"fields": {...}, "duration_format": "string", "fps": 16,
  "extra": {...}, "needs_first_frame": false}}``. ``fields`` maps the studio's inputs to
  the app's (``null`` / ``""``: not sent): ``prompt`` ("prompt"), ``first_frame``
  ("image_url", a ``data:`` URI), ``last_frame`` ("end_image_url"), ``seconds``
  ("duration"), ``aspect_ratio`` ("aspect_ratio": 16:9, 9:16, 1:1), ``resolution``
  ("resolution": 720p ...), ``seed`` ("seed"), ``negative_prompt`` ("negative_prompt"),
  ``audio`` ("generate_audio"), ``video`` (none; a video-to-video app's source, e.g.
  "video_url": naming it lets the app edit and remix) and ``fps`` (the frame rate's input
  when durations are frames). ``duration_format``: ``string`` ("5"), ``int`` (5),
  ``seconds_suffix`` ("5s") or ``frames`` (seconds x ``fps`` + 1). ``extra``: constant
  inputs (the studio's fields win). ``needs_first_frame``: a create must start from an
  image (default: the app id says ``image-to-video``). What a model *accepts* (sizes,
  durations, frames) is its route's capabilities; this says only how to send it.
- ``webhook_jwks_url``: where fal publishes its webhook keys (default
  ``https://rest.alpha.fal.ai/.well-known/jwks.json``); setting it turns webhooks on.
- ``probe_app``: the app ``probe()`` looks a request up on (default ``fal-ai/kling-video``).
- ``max_inline_video_mb``: the largest source an edit or remix sends inline (default 10).

The key is read per call and sent only as ``Authorization: Key ...`` to the provider's
host (result videos are signed CDN links, fetched without it), never logged or shown.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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
from .vendor import MAX_VIDEO_BYTES, VendorClient, VendorHTTPError, data_uri, json_error

if TYPE_CHECKING:
    from .models import Provider as ProviderRow

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://queue.fal.run"
DEFAULT_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
DEFAULT_PROBE_APP = "fal-ai/kling-video"
PROBE_REQUEST_ID = "00000000-0000-0000-0000-000000000000"
APP_NAMESPACES = ("workflows", "comfy")  # fal-client's: their roots have three segments
APP_ID = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+$")
JOB_ID_MAX = 128  # Video.provider_job_id
GONE_STATUSES = (403, 404, 410)  # a result link that expired
WEBHOOK_TOLERANCE_SECONDS = 300
DURATION_FORMATS = ("string", "int", "seconds_suffix", "frames")
# fal's documented error type for a refusal by its content checker, and the words its
# apps use for one in a message.
POLICY_TYPES = ("content_policy",)
POLICY_WORDS = ("content policy", "content_policy", "flagged by a content checker")

DEFAULT_FIELDS: dict[str, str] = {
    "prompt": "prompt", "first_frame": "image_url", "last_frame": "end_image_url",
    "seconds": "duration", "aspect_ratio": "aspect_ratio", "resolution": "resolution",
    "seed": "seed", "negative_prompt": "negative_prompt", "audio": "generate_audio",
    "video": "", "fps": "",
}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class AppSpec:
    """How one fal app's input is written (see the module's docstring)."""

    fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    duration_format: str = "string"
    fps: int = 16
    extra: Mapping[str, Any] = field(default_factory=dict)
    needs_first_frame: bool = False

    def name(self, studio_field: str) -> str:
        """The app's input for ``studio_field`` ("" when it takes none)."""
        return str(self.fields.get(studio_field) or "")

    def with_fields(self, **changes: str) -> AppSpec:
        return replace(self, fields={**self.fields, **changes})


DEFAULT_SPEC = AppSpec()

# From fal's model pages (fal.ai/models/<app>/llms.txt): Kling 2.1 Master makes 5 or 10 s
# at 1080p in 16:9, 9:16 or 1:1 (image-to-video: the image's shape), takes a negative
# prompt, no seed, resolution or sound. Wan 2.2 A14B makes 17-161 frames at 16 fps (2-10 s)
# at 480p-720p in 16:9, 9:16 or 1:1 with a seed and a negative prompt; its image-to-video
# takes an end image, its video-to-video a source (the one seeded app that edits and
# remixes). Only 720p's sizes are offered (the studio has no 480p); 960x960 is its square.
# Veo 3.1 is not in fal-client 1.0.3's documentation: not seeded (an unknown app's default).
_KLING = AppSpec().with_fields(seed="", resolution="", last_frame="", audio="")
_KLING_SIZES = ("1920x1080", "1080x1920", "960x960")
_WAN = AppSpec(duration_format="frames").with_fields(
    seconds="num_frames", fps="frames_per_second", audio="")  # fmt: skip
_WAN_SIZES = ("1280x720", "720x1280", "960x960")
_WAN_SECONDS = tuple(range(2, 11))
_WAN_CAPS = Capabilities(sizes=_WAN_SIZES, seconds=_WAN_SECONDS, first_frame=False,
                         seed=True, negative_prompt=True)  # fmt: skip
_KLING_CAPS = Capabilities(sizes=_KLING_SIZES, seconds=(5, 10), negative_prompt=True)
APPS: dict[str, tuple[AppSpec, Capabilities]] = {
    "fal-ai/kling-video/v2.1/master/text-to-video": (
        _KLING.with_fields(first_frame=""), replace(_KLING_CAPS, first_frame=False)),
    "fal-ai/kling-video/v2.1/master/image-to-video": (
        replace(_KLING.with_fields(aspect_ratio=""), needs_first_frame=True), _KLING_CAPS),
    "fal-ai/wan/v2.2-a14b/text-to-video": (
        _WAN.with_fields(first_frame="", last_frame=""), _WAN_CAPS),
    "fal-ai/wan/v2.2-a14b/image-to-video": (
        replace(_WAN, needs_first_frame=True),
        replace(_WAN_CAPS, first_frame=True, last_frame=True)),
    "fal-ai/wan/v2.2-a14b/video-to-video": (
        _WAN.with_fields(first_frame="", last_frame="", video="video_url"),
        replace(_WAN_CAPS, edit=True, remix=True)),
}  # fmt: skip
# An app an admin adds: it may start from an image, takes a seed and a negative prompt,
# any size and duration the studio offers; it neither edits, remixes nor extends.
DEFAULT_CAPABILITIES = Capabilities(first_frame=True, seed=True, negative_prompt=True)


def app_root(app_id: str) -> str:
    """Where an app's requests live: its owner and alias (fal-client's ``AppId``)."""
    parts = app_id.strip("/").split("/")
    size = 3 if parts[0] in APP_NAMESPACES else 2
    return "/".join(parts[:size])


def is_policy(code: str, message: str) -> bool:
    said = message.lower()
    return any(t in code.lower() for t in POLICY_TYPES) or any(w in said for w in POLICY_WORDS)


def fal_error(response: httpx.Response) -> tuple[str, str]:
    """fal's ``{"detail": "..." | [{"loc", "msg", "type"}, ...]}``: a content-policy item's
    type and own ``msg``, else the first item's type and ``loc: msg; ...``."""
    code, message = json_error(response)
    body = _json(response)
    detail = body.get("detail")
    items = [d for d in detail if isinstance(d, dict)] if isinstance(detail, list) else []
    policy = next((d for d in items if is_policy(str(d.get("type") or ""), "")), None)
    if policy is not None:
        return str(policy["type"]), str(policy.get("msg") or message)
    first = next((str(d["type"]) for d in items if d.get("type")), "")
    code = first or str(body.get("error_type") or "") or code
    return code or response.headers.get("x-fal-error-type", ""), message


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class _QueueClient(VendorClient):
    """The studio's rules, and fal's: a failed request's *result* answers its own 500 with
    fal's JSON ``detail``. That is the request's final outcome, not an outage: read it
    once (fal-client retries no 500 either). Every other 5xx is retried as usual."""

    def retry_wait(self, response: httpx.Response, attempt: int, *, idempotent: bool
                   ) -> float | None:  # fmt: skip
        path = response.request.url.path
        result = "/requests/" in path and not path.endswith(("/status", "/cancel"))
        if response.status_code >= 500 and result and _json(response).get("detail"):
            return None
        return super().retry_wait(response, attempt, idempotent=idempotent)


# fal's webhook keys, per JWKS URL: (when fetched, on the monotonic clock; the keys).
_jwks: dict[str, tuple[float, list[Ed25519PublicKey]]] = {}
_jwks_lock = threading.Lock()


class FalEngine:
    """Drives fal queue requests. ``client`` may be injected (tests)."""

    kind = "fal"
    remote_variants = ("video",)  # the studio makes the thumbnail and spritesheet
    native_extend = False  # fal's apps make new videos: the runner stitches extensions
    JWKS_TTL_SECONDS = 3600.0
    JWKS_REFETCH_SECONDS = 30.0  # an unknown signature refetches at most this often

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
        self._owned: httpx.Client | None = None
        if client is None:
            client = self._owned = new_client(timeout, connect_timeout)
        self.http = _QueueClient(
            name=name, base_url=self.base_url, headers=self._headers, client=client,
            backoff=backoff, sleep=sleep, error_of=fal_error, secret=api_key,
        )  # fmt: skip
        # fal's key-set host gets no key.
        self.keys_http = VendorClient(name=name, base_url="", headers=lambda: {}, client=client,
                                      backoff=backoff, sleep=sleep)  # fmt: skip
        # Each job's last result, so fetch needs no second read.
        self._results: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_row(cls, row: ProviderRow) -> FalEngine:
        base_url = row.base_url or DEFAULT_BASE_URL
        return cls(
            name=row.name, api_key=key_from(env=row.api_key_env, file=row.api_key_file),
            base_url=base_url, timeout=row.timeout_seconds,
            connect_timeout=row.connect_timeout_seconds, options=row.options or {},
            client=shared_client(base_url, row.timeout_seconds, row.connect_timeout_seconds),
        )  # fmt: skip

    @classmethod
    def capabilities_for(cls, model: str) -> Capabilities:
        """A seeded app's documented limits; an unknown app's permissive default (an
        image-to-video app starts from an image, a text-to-video one does not)."""
        if model in APPS:
            return APPS[model][1]
        return replace(DEFAULT_CAPABILITIES, first_frame="text-to-video" not in model)

    def __repr__(self) -> str:
        return f"<FalEngine {self.name} {self.base_url}>"

    @property
    def requests(self) -> dict[str, int]:
        """Requests sent, by endpoint."""
        return dict(self.http.requests + self.keys_http.requests)

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()

    # --- the remote engine (base.RemoteEngine) -------------------------------------

    def check(self, request: RemoteRequest) -> None:
        self._validate(request)

    def submit(self, request: RemoteRequest) -> str:
        spec = self._validate(request)
        app = request.model
        params = {"fal_webhook": request.webhook_url} if request.webhook_url else None
        body = self._input(request, spec)
        try:
            data = self.http.json("POST", f"/{app}", "submit", json=body, params=params)
        except VendorHTTPError as exc:
            raise self._refused(exc, app) from None
        request_id = str(data.get("request_id") or "")
        if not request_id:
            raise OutcomeUnknown("upstream_outcome_unknown", f"The provider {self.name} "
                                 "answered the submit without a request id.")  # fmt: skip
        root = self._root_of(data.get("status_url"), request_id) or app_root(app)
        job_id = f"{root}|{request_id}"
        if len(job_id) > JOB_ID_MAX:
            job_id = f"{app_root(app)}|{request_id}"
        return job_id

    def status(self, job_id: str) -> RemoteStatus:
        data = self._read(job_id, "/status", "status")
        word = str(data.get("status") or "")
        if word == "IN_QUEUE":
            return RemoteStatus(id=job_id, status="queued", progress=0)
        if word == "IN_PROGRESS":
            return RemoteStatus(id=job_id, status="in_progress", progress=0)
        if word == "COMPLETED":
            if data.get("error"):
                return _failed(job_id, str(data.get("error_type") or ""), str(data["error"]))
            return self._outcome(job_id)
        if word in ("FAILED", "ERROR", "CANCELLED"):
            return _failed(job_id, word.lower(), str(data.get("error") or ""))
        logger.info("fal request %s has an unknown status %r; still polling", job_id, word)
        return RemoteStatus(id=job_id, status="in_progress", progress=0)

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        return []  # fal's queue cannot list requests: a lost submit cannot be found

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        if variant != "video":
            raise ProviderError("upstream_invalid_asset", f"{self.name} gives only the video.")
        result = self._results.get(job_id) or self._result(job_id)
        url = video_url(result)
        try:
            return self._save(url, dest)
        except VendorHTTPError as exc:
            if exc.status not in GONE_STATUSES:
                raise
        # The signed link expired: a fresh read of the result may sign a fresh one.
        fresh = video_url(self._result(job_id))
        if fresh == url:
            raise RemoteGone("upstream_assets_expired", f"{self.name} no longer has the video.")
        try:
            return self._save(fresh, dest)
        except VendorHTTPError as exc:
            if exc.status in GONE_STATUSES:
                raise RemoteGone(exc.code, exc.message) from None
            raise

    def delete(self, job_id: str) -> bool:
        # The queue API deletes nothing: results expire on fal's CDN by themselves.
        logger.info("fal cannot delete request %s; its files expire on fal's CDN", job_id)
        return False

    def cancel(self, job_id: str) -> bool:
        """Stop the request; True once stopped or ended (a request done answers 400)."""
        try:
            self._read(job_id, "/cancel", "cancel", method="PUT")
        except VendorHTTPError as exc:
            if exc.status != 400:
                raise
        except RemoteGone:
            pass
        return True

    def probe(self) -> str:
        """One authenticated read that costs nothing: the status of a request that does
        not exist. fal answers a valid key 404 and a refused one 401 or 403 (fal-client
        has no read of the account; its only others are POSTs that mint tokens)."""
        root = app_root(str(self.options.get("probe_app") or DEFAULT_PROBE_APP))
        path = f"/{root}/requests/{PROBE_REQUEST_ID}/status"
        try:
            self.http.send("GET", path, "probe")
        except VendorHTTPError as exc:
            if exc.status == 403:
                raise ProviderError(exc.code, f"The provider {self.name} did not accept the "
                                    "studio's API key for it (an operator must fix it): "
                                    f"{exc.message}") from None  # fmt: skip
            if exc.status == 401:
                raise
            said = f"a lookup of no request answered {exc.status}"
            return f"{self.base_url} accepted the key ({said})"
        return f"{self.base_url} accepted the key"

    def webhook(self, headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent | None:
        """fal's signed delivery: ``X-Fal-Webhook-Signature`` is the hex Ed25519 signature
        of ``"{request id}\\n{user id}\\n{timestamp}\\n{sha256 hex of the body}"``, checked
        against the keys fal publishes (``webhook_jwks_url``; ``secret`` is unused). The
        event's ``job_id`` is fal's request id (the body names no app)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        names = ("request-id", "user-id", "timestamp", "signature")
        got = {n: lowered.get(f"x-fal-webhook-{n}", "").strip() for n in names}
        if missing := [f"X-Fal-Webhook-{n.title()}" for n, v in got.items() if not v]:
            raise WebhookRefused(f"Missing {', '.join(missing)}.")
        request_id, user_id, stamp, signature = got.values()
        try:
            sent = int(stamp)
        except ValueError:
            raise WebhookRefused("The webhook timestamp is not a number.") from None
        if abs(time.time() - sent) > WEBHOOK_TOLERANCE_SECONDS:
            raise WebhookRefused("The webhook timestamp is too old or too far in the future.")
        try:
            raw = bytes.fromhex(signature)
        except ValueError:
            raise WebhookRefused("The webhook signature is not hex.") from None
        digest = hashlib.sha256(body).hexdigest()
        message = f"{request_id}\n{user_id}\n{stamp}\n{digest}".encode()
        if not self._verified(raw, message):
            raise WebhookRefused("No key of fal's verifies the webhook signature.")
        try:
            event = json.loads(body)
            word = str(event.get("status") or "")
            said = str(event.get("request_id") or request_id)
        except (ValueError, AttributeError, TypeError):
            raise WebhookRefused("The body is not a JSON object.") from None
        if said != request_id:
            raise WebhookRefused("The body names another request than its headers.")
        return WebhookEvent(
            webhook_id=f"fal:{request_id}:{stamp}", job_id=request_id,
            event_type=f"fal.{word.lower() or 'unknown'}", final=word in ("OK", "ERROR"),
        )  # fmt: skip

    # --- the request ---------------------------------------------------------------

    def spec_for(self, app: str) -> AppSpec:
        """The app's spec: the seeded one or the default, with ``options["apps"]`` over it."""
        spec = APPS[app][0] if app in APPS else replace(
            DEFAULT_SPEC,
            needs_first_frame="image-to-video" in app,
            fields={**DEFAULT_SPEC.fields,
                    **({"first_frame": ""} if "text-to-video" in app else {})},
        )  # fmt: skip
        configured = (self.options.get("apps") or {}).get(app)
        if not isinstance(configured, Mapping):
            return spec
        fields = configured.get("fields")
        fields = fields.items() if isinstance(fields, Mapping) else ()
        fps, extra = configured.get("fps"), configured.get("extra")
        needs = configured.get("needs_first_frame")
        return replace(
            spec,
            fields={**spec.fields, **{str(k): str(v or "") for k, v in fields}},
            duration_format=str(configured.get("duration_format") or spec.duration_format),
            fps=fps if isinstance(fps, int) and fps > 0 else spec.fps,
            extra=dict(extra) if isinstance(extra, Mapping) else spec.extra,
            needs_first_frame=needs if isinstance(needs, bool) else spec.needs_first_frame,
        )

    def _validate(self, request: RemoteRequest) -> AppSpec:
        """Refuse what the app cannot take, naming what it can, before anything is sent."""
        app = request.model
        if request.with_characters:
            raise ProviderError("characters_unsupported", f"The provider {self.name} does not "
                                "take characters; remove them or pick a model that runs on "
                                "the local renderer.")  # fmt: skip
        if not APP_ID.match(app):
            raise ProviderError("provider_misconfigured", f"'{app}' is not a fal app id "
                                "(owner/app[/path], e.g. fal-ai/kling-video/v2.1/master/"
                                "text-to-video): fix the route's upstream model.")  # fmt: skip
        spec = self.spec_for(app)
        if spec.duration_format not in DURATION_FORMATS:
            raise ProviderError("provider_misconfigured", f"The duration_format of {app} in "
                                f"{self.name}'s options is {spec.duration_format!r}; use one "
                                f"of {', '.join(DURATION_FORMATS)}.")  # fmt: skip
        op = request.operation
        if op in ("edit", "remix") and not spec.name("video"):
            able = ", ".join(self._video_apps())
            raise ProviderError("unsupported_operation", f"The fal app {app} cannot {op} a "
                                f"video; only a video-to-video app can ({able}, or one whose "
                                "inputs name its 'video' in the provider's options).")  # fmt: skip
        if op not in ("create", "edit", "remix"):
            raise ProviderError("unsupported_operation", f"{self.name} cannot {op} a video.")
        caps = self.capabilities_for(app)
        if caps.sizes and request.size not in caps.sizes:
            raise ProviderError("unsupported_size", f"The model {app} makes "
                                f"{', '.join(caps.sizes)}; not {request.size}.")  # fmt: skip
        if caps.seconds and request.seconds not in caps.seconds:
            words = ", ".join(str(s) for s in caps.seconds)
            raise ProviderError("unsupported_seconds", f"The model {app} makes {words} "
                                f"seconds; not {request.seconds}.")  # fmt: skip
        unsupported = [
            (request.reference_image is not None and not spec.name("first_frame"),
             "input_reference", "does not start from an image"),
            (request.last_frame is not None and not spec.name("last_frame"),
             "last_frame", "does not take a last frame"),
            (bool(request.reference_images), "reference_images", "does not take reference images"),
            (bool(request.negative_prompt) and not spec.name("negative_prompt"),
             "negative_prompt", "does not take a negative prompt"),
            (request.audio is not None and not spec.name("audio"), "audio", "makes no sound"),
        ]  # fmt: skip
        for wrong, what, why in unsupported:
            if wrong:
                raise ProviderError(f"unsupported_{what}", f"The model {app} {why}.")
        if op == "create" and spec.needs_first_frame and request.reference_image is None:
            raise ProviderError("first_frame_required", f"The model {app} makes a video from "
                                "an image: give it an input_reference.")  # fmt: skip
        if op != "create":
            self._source(request)
        return spec

    def _video_apps(self) -> list[str]:
        configured = [str(a) for a in self.options.get("apps") or {}]
        return [a for a in dict.fromkeys([*APPS, *configured]) if self.spec_for(a).name("video")]

    def _source(self, request: RemoteRequest) -> Path:
        """The video an edit or remix sends (an upload, else our stored copy), if small
        enough to go inline."""
        source = request.source_upload or request.source_file
        if source is None or not source.exists():
            raise ProviderError("source_missing", "The source video no longer exists.")
        limit_mb = float(self.options.get("max_inline_video_mb") or 10)
        size = source.stat().st_size
        if size > limit_mb * (1 << 20):
            raise ProviderError("source_too_large", f"The source video "
                                f"({size / (1 << 20):.1f} MB) is larger than the {limit_mb:g} "
                                f"MB {self.name} takes inline.")  # fmt: skip
        return source

    def _input(self, request: RemoteRequest, spec: AppSpec) -> dict[str, Any]:
        """The app's input JSON: the constants, then the studio's fields by the spec."""
        s, frames = request.seconds, spec.duration_format == "frames"
        first, last = request.reference_image, request.last_frame
        values: dict[str, Any] = {
            "prompt": request.prompt,
            "first_frame": data_uri(first) if first is not None else None,
            "last_frame": data_uri(last) if last is not None else None,
            "video": None if request.operation == "create"
            else data_uri(self._source(request), "video/mp4"),
            "seconds": {"string": str(s), "int": s, "seconds_suffix": f"{s}s",
                        "frames": s * spec.fps + 1}[spec.duration_format],
            "fps": spec.fps if frames else None,
            "aspect_ratio": size_aspect_ratio(request.size),
            "resolution": resolution(request.size),
            "seed": request.seed,
            "negative_prompt": request.negative_prompt or None,
            "audio": request.audio,
        }  # fmt: skip
        body: dict[str, Any] = dict(spec.extra)
        body.update({spec.name(k): v for k, v in values.items() if v is not None and spec.name(k)})
        return body

    def _refused(self, exc: VendorHTTPError, app: str) -> ProviderError:
        """A submit fal refused: a content-policy refusal, or the app's invalid fields."""
        if is_policy(exc.code, exc.message):
            return ProviderError("moderation_blocked", exc.message)
        if exc.status == 422:
            return ProviderError("invalid_request", f"The fal app {app} refused its input: "
                                 f"{exc.message}")  # fmt: skip
        return exc

    # --- reads and downloads -------------------------------------------------------

    def _root_of(self, status_url: Any, request_id: str) -> str:
        """The request's root, from a status URL on this provider's host ("" if not)."""
        url = str(status_url or "")
        if not url.startswith(self.base_url + "/"):
            return ""
        match = re.fullmatch(r"(.+?)/requests/([^/?]+)/status", url[len(self.base_url) + 1 :])
        return match.group(1) if match and match.group(2) == request_id else ""

    def _path(self, job_id: str, suffix: str = "") -> str:
        root, _, request_id = job_id.rpartition("|")
        if not root or not request_id:
            raise RemoteGone("upstream_job_missing", f"'{job_id}' is not a fal request of ours.")
        return f"/{root}/requests/{quote(request_id, safe='')}{suffix}"

    def _read(self, job_id: str, suffix: str, endpoint: str, method: str = "GET") -> Any:
        try:
            return self.http.json(method, self._path(job_id, suffix), endpoint)
        except VendorHTTPError as exc:
            if exc.status == 404:
                raise RemoteGone(exc.code, exc.message) from None
            raise

    def _result(self, job_id: str) -> dict[str, Any]:
        result = self._read(job_id, "", "result")
        self._results[job_id] = result
        return result

    def _outcome(self, job_id: str) -> RemoteStatus:
        """A completed request: its result has a video, or says why it failed."""
        try:
            result = self._result(job_id)
        except VendorHTTPError as exc:
            if exc.status in (401, 403):
                raise
            # A failed request's result is the app's error; fal's bare HTTP code says less.
            code = "" if exc.code.startswith("http_") else exc.code
            return _failed(job_id, code, exc.message)
        if not video_url(result):
            detail = result.get("detail")
            return _failed(job_id, "upstream_no_video",
                           str(detail or "The request completed without a video."))  # fmt: skip
        return RemoteStatus(id=job_id, status="completed", progress=100)

    def _save(self, url: str, dest: Path) -> int:
        if url.startswith("data:"):
            try:
                raw = base64.b64decode(url.partition(",")[2], validate=True)
            except (binascii.Error, ValueError):
                what = f"{self.name}'s inline video is not base64."
                raise ProviderError("upstream_invalid_asset", what) from None
            if len(raw) > MAX_VIDEO_BYTES:
                raise ProviderError("upstream_invalid_asset", "The inline video is too large.")
            return dest.write_bytes(raw)
        if not url.startswith(("https://", "http://")):
            raise ProviderError("upstream_invalid_asset",
                                f"{self.name} gave no video address it can fetch.")  # fmt: skip
        return self.http.download(url, dest, "video", authenticated=False)

    def _verified(self, signature: bytes, message: bytes) -> bool:
        """Whether any of fal's published keys verifies ``signature``; an unknown one
        fetches the keys again (once, at most every ``JWKS_REFETCH_SECONDS``): fal rotates."""
        url = str(self.options.get("webhook_jwks_url") or DEFAULT_JWKS_URL)
        with _jwks_lock:
            cached = _jwks.get(url)
        now = time.monotonic()
        if cached is None or now - cached[0] > self.JWKS_TTL_SECONDS:
            cached = self._fetch_keys(url)
        if _any_verifies(cached[1], signature, message):
            return True
        if time.monotonic() - cached[0] < self.JWKS_REFETCH_SECONDS:
            return False
        return _any_verifies(self._fetch_keys(url)[1], signature, message)

    def _fetch_keys(self, url: str) -> tuple[float, list[Ed25519PublicKey]]:
        try:
            data = self.keys_http.json("GET", url, "jwks")
        except ProviderError as exc:
            logger.warning("fal's webhook keys at %s cannot be read: %s", url, exc)
            raise WebhookRefused("fal's webhook keys cannot be fetched to verify it.") from None
        keys = []
        for jwk in data.get("keys") or []:
            if not isinstance(jwk, dict) or (jwk.get("kty"), jwk.get("crv")) != ("OKP", "Ed25519"):
                continue
            try:
                x = str(jwk["x"])
                raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
                keys.append(Ed25519PublicKey.from_public_bytes(raw))
            except (KeyError, ValueError, binascii.Error):
                logger.warning("fal's key set at %s has an unreadable key", url)
        entry = (time.monotonic(), keys)
        with _jwks_lock:
            _jwks[url] = entry
        return entry

    # --- plumbing ------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._api_key()}", "Accept": "application/json"}


def _any_verifies(keys: list[Ed25519PublicKey], signature: bytes, message: bytes) -> bool:
    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


def _failed(job_id: str, code: str, message: str) -> RemoteStatus:
    """A request that ended without a video, in the studio's words (vendors.md): a
    content-policy refusal is moderation_blocked with the vendor's own reason."""
    if is_policy(code, message):
        code, fallback = "moderation_blocked", "fal's content checker refused the request."
    elif "cancel" in f"{code} {message}".lower():
        code, fallback = "cancelled", "The request was cancelled at the provider."
    else:
        code, fallback = (code or "upstream_failed")[:64], "The request failed at the provider."
    return RemoteStatus(id=job_id, status="failed", progress=100, error_code=code,
                        error_message=message or fallback)  # fmt: skip


def video_url(result: Mapping[str, Any]) -> str:
    """The app's output video: ``video`` (an object with ``url``, or a URL), the first of
    ``videos``, else any top-level file whose content type is a video ("" if none)."""
    candidates: list[Any] = [result.get("video")]
    videos = result.get("videos")
    if isinstance(videos, list) and videos:
        candidates.append(videos[0])
    candidates += [
        v for v in result.values()
        if isinstance(v, dict) and str(v.get("content_type") or "").startswith("video/")
    ]  # fmt: skip
    for item in candidates:
        if isinstance(item, str) and item:
            return item
        if isinstance(item, dict) and item.get("url"):
            return str(item["url"])
    return ""


def resolution(size: str) -> str:
    """fal's resolution word for a size: its short side, except the studio's square
    (960x960), which is the 720p class (the same pixel count as 1280x720)."""
    return "720p" if size == "960x960" else size_resolution(size)
