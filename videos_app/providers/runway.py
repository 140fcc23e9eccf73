"""Runway's API (``api.dev.runwayml.com``): every generation is a *task*.

``POST /v1/text_to_video``, ``/v1/image_to_video`` or ``/v1/video_to_video`` starts one
(``{"id"}``); ``GET /v1/tasks/{id}`` says how it goes (``PENDING`` / ``THROTTLED``:
waiting, never a failure; ``RUNNING`` with ``progress`` 0..1; ``SUCCEEDED`` with signed
``output`` URLs that expire in 24-48 h; ``FAILED`` with ``failure`` and ``failureCode``;
``CANCELLED``); ``DELETE /v1/tasks/{id}`` cancels a running task and deletes a finished
one. There is no list of tasks (a create whose answer was lost cannot be found again:
``find_lost`` is empty) and no webhooks (the runner polls).

The official SDK, ``runwayml`` 5.24.0, writes every request (paths, camelCase fields,
``X-Runway-Version: 2024-11-06``) and reads every answer, but sends nothing itself: its
httpx client (``_VendorHttpx``) hands each request to the studio's ``VendorClient``, so
the one retry loop of every engine applies, on the real httpx exceptions: a refused
connection is retried (even a create), a create that may have arrived is
``OutcomeUnknown`` and never resent, 4xx are final in Runway's words with the key cut
out. The SDK's own retries are off (``max_retries=0``); it wraps whatever its client
raises in ``APIConnectionError`` (``__cause__`` is the original: ``_base_client.request``),
and ``_sdk_call`` re-raises the studio's error it carries.

Models (``MODELS``, from the SDK's ``*_create_params`` types and Runway's docs): gen4.5
(text or first frame, 2-10 s; text-to-video 16:9 and 9:16 only), gen4_turbo (first frame
only, 5 or 10 s), veo3.1 and veo3.1_fast (Google's Veo through Runway: first and last
frame, sound, negative prompt, 4/6/8 s), and the video-to-video models aleph2 and
gen4_aleph (edit and remix; the output keeps the source's timing). An id an admin adds
runs on text_to_video (image_to_video with a first frame) with what its route lets
through; it neither edits nor remixes (Runway's other video-to-video models take their
source in other fields, per model). Sizes are Runway's ratios written
as the API's ``"WxH"`` (``1280x720`` is ``1280:720``; ``960x960`` the square). Images and
source videos go inline as ``data:`` URIs, which Runway takes up to 5 MB.

``Provider.options`` (all optional):

- ``poll_interval_seconds``: the pace of polls (default 5: Runway says a task is not
  updated more often).
- ``runway_version``: the ``X-Runway-Version`` header (default ``2024-11-06``).

The key is read per call and sent only as ``Authorization: Bearer ...`` to the row's
host (output URLs are signed links, fetched without it), never logged or shown.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from runwayml import APIConnectionError, APIError, RunwayML

from .base import (
    OutcomeUnknown,
    ProviderError,
    RemoteGone,
    RemoteRequest,
    RemoteStatus,
)
from .capabilities import Capabilities
from .http import Backoff, key_from, new_client, shared_client
from .limits import ALL_SECONDS, ALL_SIZES
from .vendor import VendorClient, VendorHTTPError, VendorUnavailable, data_uri, json_error

if TYPE_CHECKING:
    from .models import Provider as ProviderRow

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.dev.runwayml.com"
RUNWAY_VERSION = "2024-11-06"
DEFAULT_POLL_SECONDS = 5.0
TASK_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
MODEL_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
GONE_STATUSES = (403, 404, 410)  # an output link that expired
MAX_DATA_URI_BYTES = 5 * 1024 * 1024  # Runway's limit on an inline asset
PROMPT_LIMIT = 1000  # promptText, in UTF-16 code units, on every seeded model

# Prices: $0.01 a credit (vendors.md 3): the routes' documented prices (prices_for).
CREDIT_USD = Decimal("0.01")
CREDITS_PER_SECOND: dict[str, int] = {"gen4.5": 12, "gen4_turbo": 5, "aleph2": 15, "gen4_aleph": 15}
PRICES_PER_SECOND: dict[str, Decimal] = {m: c * CREDIT_USD for m, c in CREDITS_PER_SECOND.items()}

GEN4_SIZES = ("1280x720", "720x1280", "1104x832", "960x960", "832x1104", "1584x672")
WIDE_AND_TALL = ("1280x720", "720x1280")
VEO_SIZES = ("1280x720", "720x1280", "1080x1920", "1920x1080")
ALEPH_SIZES = (*GEN4_SIZES, "848x480", "640x480")


def _studio(sizes: tuple[str, ...]) -> tuple[str, ...]:
    """The sizes of ``sizes`` the studio offers (a route can only ask for those)."""
    return tuple(s for s in sizes if s in ALL_SIZES)


@dataclass(frozen=True, kw_only=True)
class RunwayModel:
    """How a model is asked for: which endpoints, at which sizes."""

    caps: Capabilities
    text_sizes: tuple[str, ...] = ()  # what text_to_video makes (empty: any)
    image_sizes: tuple[str, ...] = ()  # what image_to_video makes (empty: any)
    video: bool = False  # video_to_video only (edit, remix)
    video_sizes: tuple[str, ...] = ()  # the ratios video_to_video takes (empty: none sent)
    needs_image: bool = False  # image_to_video only
    seeded: bool = True  # from the SDK's types (an admin's id is not)


# From runwayml 5.24.0's types (text_to_video / image_to_video / video_to_video params):
# gen4.5 takes a seed and one first frame (position "first"), 2-10 s; gen4_turbo has no
# text-to-video and Runway documents 5 or 10 s; Veo 3.1 takes a first and a last frame,
# audio, negativePrompt and a seed at 4, 6 or 8 s. aleph2 takes videoUri, promptText and a
# seed; its output keeps the source's frame and timing (2-30 s sources). gen4_aleph (the
# earlier Aleph, same body plus ratio) uses only the first 5 s of its source.
_VEO = RunwayModel(
    text_sizes=VEO_SIZES, image_sizes=VEO_SIZES,
    caps=Capabilities(sizes=_studio(VEO_SIZES), seconds=(4, 6, 8), last_frame=True,
                      audio=True, seed=True, negative_prompt=True),
)  # fmt: skip
_ALEPH = Capabilities(first_frame=False, seed=True, edit=True, remix=True)
MODELS: dict[str, RunwayModel] = {
    "gen4.5": RunwayModel(
        text_sizes=WIDE_AND_TALL, image_sizes=GEN4_SIZES,
        caps=Capabilities(sizes=_studio(GEN4_SIZES), seconds=tuple(range(2, 11)), seed=True),
    ),
    "gen4_turbo": RunwayModel(
        image_sizes=GEN4_SIZES, needs_image=True,
        caps=Capabilities(sizes=_studio(GEN4_SIZES), seconds=(5, 10), seed=True),
    ),
    "veo3.1": _VEO,
    "veo3.1_fast": _VEO,
    "aleph2": RunwayModel(video=True, caps=replace(
        _ALEPH, seconds=tuple(s for s in ALL_SECONDS if 2 <= s <= 30))),
    "gen4_aleph": RunwayModel(video=True, video_sizes=ALEPH_SIZES, caps=replace(
        _ALEPH, sizes=_studio(ALEPH_SIZES), seconds=(2, 3, 4, 5))),
}  # fmt: skip
# An id an admin adds: it may start from an image; sizes and durations are any the
# studio offers (its route narrows them); nothing else unless its route says so.
DEFAULT_MODEL = RunwayModel(caps=Capabilities(first_frame=True), seeded=False)
VIDEO_MODELS = tuple(m for m, spec in MODELS.items() if spec.video)
MAKERS = tuple(m for m, spec in MODELS.items() if not spec.video)


def ratio(size: str) -> str:
    """Runway's ratio for an API size: its pixels (``1280x720`` -> ``1280:720``)."""
    return size.replace("x", ":")


def is_moderation(code: str) -> bool:
    """Runway's content-moderation failure codes: ``SAFETY.INPUT.*``, ``SAFETY.OUTPUT.*``
    and ``INPUT_PREPROCESSING.SAFETY.*`` (docs: errors/task-failures)."""
    parts = code.upper().split(".")
    return "SAFETY" in parts[:2]


def runway_error(response: httpx.Response) -> tuple[str, str]:
    """Runway's ``{"error": "...", "issues"?: [{"path", "message"}]}``: its message,
    followed by each issue as ``path: message``."""
    code, message = json_error(response)
    try:
        body = response.json()
    except ValueError:
        return code, message
    issues = body.get("issues") if isinstance(body, dict) else None
    if isinstance(issues, list) and issues:
        said = []
        for issue in issues[:5]:
            if isinstance(issue, dict):
                path = ".".join(str(p) for p in issue.get("path") or ())
                text = str(issue.get("message") or "")
                said.append(f"{path}: {text}" if path else text)
        message = f"{message} ({'; '.join(said)})" if message else "; ".join(said)
    return code, message[:1000]


# Request headers the SDK's client leaves to VendorClient and the real client: the key is
# VendorClient's to add (read per call), the rest the real connection's own.
_NOT_FORWARDED = frozenset({"authorization", "host", "content-length", "accept-encoding",
                            "connection"})  # fmt: skip
# Answer headers that described the bytes on the wire, not the decoded body passed on.
_DECODED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def endpoint_of(request: httpx.Request) -> str:
    """The endpoint a request is counted and named by: ``text_to_video`` (and the other
    creates), ``task``, ``cancel`` (DELETE, which also deletes), ``organization``."""
    path = request.url.path.rstrip("/")
    if "/v1/tasks/" in path:
        return "cancel" if request.method == "DELETE" else "task"
    return path.rpartition("/")[2] or "request"


class _VendorHttpx(httpx.Client):
    """The SDK's httpx client, which sends nothing itself: each request the SDK builds is
    sent by the studio's VendorClient (its retry rules, its errors, its one log line); a
    ``ProviderError`` raised here reaches the SDK's caller through ``_sdk_call``."""

    def __init__(self, http: VendorClient) -> None:
        # No transport of its own (no connections, no SSL context): VendorClient's is used.
        super().__init__(transport=httpx.BaseTransport(), trust_env=False)
        self.vendor = http

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        answer = self.vendor.send(request.method, str(request.url), endpoint_of(request),
                                  content=request.content or None, headers=headers)  # fmt: skip
        kept = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in _DECODED]
        return httpx.Response(answer.status_code, headers=kept, content=answer.content,
                              request=request)  # fmt: skip


class RunwayEngine:
    """Drives Runway tasks. ``client`` (the real httpx client) may be injected (tests)."""

    kind = "runway"
    remote_variants = ("video",)  # the studio makes the thumbnail and spritesheet
    native_extend = False  # Runway makes new videos: the runner stitches extensions

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
        self.http = VendorClient(
            name=name, base_url=self.base_url, headers=self._headers, client=client,
            backoff=backoff, sleep=sleep, error_of=runway_error, secret=api_key,
        )  # fmt: skip
        # The SDK's client sends through VendorClient; its key is a stand-in (the real
        # one is added by VendorClient per request, and is in no object here).
        self.sdk = RunwayML(
            api_key="sent-by-the-studio", base_url=self.base_url, max_retries=0,
            runway_version=str(self.options.get("runway_version") or RUNWAY_VERSION),
            http_client=_VendorHttpx(self.http),
        )  # fmt: skip
        # Each job's last output URLs, so fetch needs no second read.
        self._outputs: dict[str, list[str]] = {}

    @classmethod
    def from_row(cls, row: ProviderRow) -> RunwayEngine:
        base_url = row.base_url or DEFAULT_BASE_URL
        return cls(
            name=row.name, api_key=key_from(env=row.api_key_env, file=row.api_key_file),
            base_url=base_url, timeout=row.timeout_seconds,
            connect_timeout=row.connect_timeout_seconds, options=row.options or {},
            client=shared_client(base_url, row.timeout_seconds, row.connect_timeout_seconds),
        )  # fmt: skip

    @classmethod
    def capabilities_for(cls, model: str) -> Capabilities:
        """A seeded model's documented limits; an admin's new id's permissive default."""
        return MODELS.get(model, DEFAULT_MODEL).caps

    @classmethod
    def prices_for(cls, model: str) -> dict[str, Decimal]:
        """The model's list price a second, whatever the size (prices.py's table)."""
        price = PRICES_PER_SECOND.get(model)
        return {} if price is None else {"*": price}

    def __repr__(self) -> str:
        return f"<RunwayEngine {self.name} {self.base_url}>"

    @property
    def requests(self) -> dict[str, int]:
        """Requests sent, by endpoint."""
        return dict(self.http.requests)

    def close(self) -> None:
        self.sdk.close()
        if self._owned is not None:
            self._owned.close()

    # --- the remote engine (base.RemoteEngine) -------------------------------------

    def check(self, request: RemoteRequest) -> None:
        self._plan(request, encode=False)

    def submit(self, request: RemoteRequest) -> str:
        endpoint, params = self._plan(request)
        creates: dict[str, Callable[..., Any]] = {
            "text_to_video": self.sdk.text_to_video.create,
            "image_to_video": self.sdk.image_to_video.create,
            "video_to_video": self.sdk.video_to_video.create,
        }
        try:
            created = self._sdk_call(endpoint, lambda: creates[endpoint](**params), create=True)
        except VendorHTTPError as exc:
            if exc.status in (400, 422):
                raise ProviderError("invalid_request", f"Runway refused the {request.model} "
                                    f"request: {exc.message}") from None  # fmt: skip
            raise
        task_id = str(getattr(created, "id", "") or "")
        if not TASK_ID.fullmatch(task_id):
            raise OutcomeUnknown("upstream_outcome_unknown", f"The provider {self.name} "
                                 f"answered the {endpoint} without a task id.")  # fmt: skip
        return task_id

    def status(self, job_id: str) -> RemoteStatus:
        task = self._task(job_id)
        word = str(getattr(task, "status", "") or "")
        wait = float(self.options.get("poll_interval_seconds") or DEFAULT_POLL_SECONDS)
        if word in ("PENDING", "THROTTLED"):
            # THROTTLED: the account is at its concurrency limit; the task waits its turn.
            return RemoteStatus(id=job_id, status="queued", progress=0, poll_after=wait)
        if word == "RUNNING":
            progress = float(getattr(task, "progress", 0) or 0)
            percent = max(0, min(100, round(progress * 100)))
            return RemoteStatus(id=job_id, status="in_progress", progress=percent,
                                poll_after=wait)  # fmt: skip
        if word == "SUCCEEDED":
            urls = _urls(task)
            if not urls:
                return _failed(job_id, "upstream_no_video", "The task succeeded without a video.")
            self._outputs[job_id] = urls
            return RemoteStatus(id=job_id, status="completed", progress=100)
        if word == "FAILED":
            code = str(getattr(task, "failure_code", "") or "")
            logger.info("Runway task %s failed: %s", job_id, code or "(no failure code)")
            return _failed(job_id, code, str(getattr(task, "failure", "") or ""))
        if word == "CANCELLED":
            return _failed(job_id, "cancelled", "The task was cancelled at Runway.")
        logger.info("Runway task %s has an unknown status %r; still polling", job_id, word)
        return RemoteStatus(id=job_id, status="in_progress", progress=0, poll_after=wait)

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        return []  # Runway lists no tasks: a create whose answer was lost cannot be found

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        """The task's first output; an expired link reads the task again (Runway signs
        fresh URLs on every read), once; still gone: ``RemoteGone``."""
        if variant != "video":
            raise ProviderError("upstream_invalid_asset", f"{self.name} gives only the video.")
        url = (self._outputs.get(job_id) or self._fresh_urls(job_id))[0]
        try:
            return self._download(url, dest)
        except VendorHTTPError as exc:
            if exc.status not in GONE_STATUSES:
                raise
        fresh = self._fresh_urls(job_id)[0]
        if fresh == url:
            raise RemoteGone("upstream_assets_expired", f"{self.name} no longer has the video.")
        try:
            return self._download(fresh, dest)
        except VendorHTTPError as exc:
            if exc.status in GONE_STATUSES:
                raise RemoteGone(exc.code, exc.message) from None
            raise

    def delete(self, job_id: str) -> bool:
        """Delete the task and its output at Runway; True once gone (404 counts)."""
        return self._delete_task(job_id)

    def cancel(self, job_id: str) -> bool:
        """Stop the task (the same DELETE; a finished task is deleted). True once stopped."""
        return self._delete_task(job_id)

    def probe(self) -> str:
        """One cheap authenticated read: the organization's credit balance."""
        org = self._sdk_call("organization", self.sdk.organization.retrieve)
        credits = int(getattr(org, "credit_balance", 0) or 0)
        dollars = Decimal(credits) * CREDIT_USD
        return f"{self.base_url} accepted the key: {credits:,} credits left (${dollars:,.2f})"

    # --- the request ---------------------------------------------------------------

    def _plan(self, request: RemoteRequest, *, encode: bool = True) -> tuple[str, dict[str, Any]]:
        """The endpoint and the SDK's arguments for ``request``; refuses (ProviderError)
        what the model cannot make, naming what it can, before anything is sent (files
        are read only to ``encode`` them)."""
        model, op = request.model, request.operation
        if request.with_characters:
            raise ProviderError("characters_unsupported", f"The provider {self.name} does not "
                                "take characters; remove them or pick a model that runs on "
                                "the local renderer.")  # fmt: skip
        if not MODEL_ID.fullmatch(model):
            raise ProviderError("provider_misconfigured", f"'{model}' is not a Runway model "
                                "id (e.g. gen4.5): fix the route's upstream model.")  # fmt: skip
        if op not in ("create", "edit", "remix"):
            raise ProviderError("unsupported_operation", f"{self.name} cannot {op} a video.")
        spec = MODELS.get(model, DEFAULT_MODEL)
        edits = op in ("edit", "remix")
        if edits and not spec.video:
            raise ProviderError("unsupported_operation", f"The model {model} cannot {op} a "
                                f"video; on Runway only {', '.join(VIDEO_MODELS)} "
                                "(video to video) can.")  # fmt: skip
        if not edits and spec.video:
            raise ProviderError("unsupported_operation", f"The model {model} only edits "
                                "and remixes videos; to make one use "
                                f"{', '.join(MAKERS)}.")  # fmt: skip
        self._refuse_inputs(request, spec)
        if len(request.prompt.encode("utf-16-le")) // 2 > PROMPT_LIMIT and spec.seeded:
            raise ProviderError("prompt_too_long", f"The model {model} takes a prompt of up "
                                f"to {PROMPT_LIMIT} characters.")  # fmt: skip
        params: dict[str, Any] = {"model": model, "prompt_text": request.prompt}
        if spec.caps.seed and request.seed is not None:
            params["seed"] = request.seed
        if edits:
            source = self._source(request)
            params["video_uri"] = _inline(source, "video/mp4", "source video", encode)
            if spec.video_sizes:
                params["ratio"] = ratio(self._sized(request, spec.video_sizes, "video"))
            return "video_to_video", params
        params["duration"] = request.seconds
        if request.audio is not None:
            params["audio"] = request.audio
        if request.negative_prompt:
            params["negative_prompt"] = request.negative_prompt
        if request.reference_image is None:
            if spec.needs_image:
                raise ProviderError("first_frame_required", f"The model {model} makes a video "
                                    "from an image: give it an input_reference.")  # fmt: skip
            params["ratio"] = ratio(self._sized(request, spec.text_sizes, "text"))
            return "text_to_video", params
        frames = [{"uri": _inline(request.reference_image, "", "first frame", encode),
                   "position": "first"}]  # fmt: skip
        if request.last_frame is not None:
            frames.append({"uri": _inline(request.last_frame, "", "last frame", encode),
                           "position": "last"})  # fmt: skip
        params["prompt_image"] = frames
        params["ratio"] = ratio(self._sized(request, spec.image_sizes, "image"))
        return "image_to_video", params

    def _refuse_inputs(self, request: RemoteRequest, spec: RunwayModel) -> None:
        """What a seeded model does not take, by the SDK's types (an admin's id gets what
        its route let through)."""
        caps, model = spec.caps, request.model
        if caps.seconds and request.seconds not in caps.seconds:
            words = ", ".join(str(s) for s in caps.seconds)
            what = "uses sources of" if spec.video else "makes"
            raise ProviderError("unsupported_seconds", f"The model {model} {what} {words} "
                                f"seconds; not {request.seconds}.")  # fmt: skip
        if not spec.seeded:
            return
        unsupported = [
            (request.reference_image is not None and not caps.first_frame,
             "input_reference", "does not start from an image"),
            (request.last_frame is not None and not caps.last_frame,
             "last_frame", "does not take a last frame"),
            (bool(request.reference_images), "reference_images", "does not take reference images"),
            (bool(request.negative_prompt) and not caps.negative_prompt,
             "negative_prompt", "does not take a negative prompt"),
            (request.audio is not None and not caps.audio, "audio", "makes no sound"),
        ]  # fmt: skip
        for wrong, what, why in unsupported:
            if wrong:
                raise ProviderError(f"unsupported_{what}", f"The model {model} {why}.")

    def _sized(self, request: RemoteRequest, sizes: tuple[str, ...], how: str) -> str:
        """The request's size when the model makes it by ``how`` (text, image, video)."""
        size, model = request.size, request.model
        if not sizes or size in sizes:
            return size
        made = ", ".join(_studio(sizes) or sizes)
        spec = MODELS.get(model, DEFAULT_MODEL)
        if how == "text" and size in spec.image_sizes:
            raise ProviderError("unsupported_size", f"The model {model} makes {size} only from "
                                f"an image; from text it makes {made}.")  # fmt: skip
        raise ProviderError("unsupported_size", f"The model {model} makes {made}; not {size}.")

    def _source(self, request: RemoteRequest) -> Path:
        source = request.source_upload or request.source_file
        if source is None or not source.exists():
            raise ProviderError("source_missing", "The source video no longer exists.")
        return source

    # --- reads and downloads -------------------------------------------------------

    def _sdk_call(self, what: str, call: Callable[[], T], *, create: bool = False) -> T:
        """Run an SDK call; the studio's errors raised in its client come out as they
        are, and an answer the SDK cannot read is OutcomeUnknown for a create (it was
        answered, so it may have made the task) and VendorUnavailable for a read."""
        try:
            return call()
        except APIConnectionError as exc:
            if isinstance(exc.__cause__, ProviderError):
                raise exc.__cause__ from None
            problem: Exception = exc
        except (APIError, ValueError, TypeError) as exc:
            problem = exc
        why = type(problem).__name__
        said = f"The provider {self.name} answered the {what} unreadably ({why})."
        if create:
            raise OutcomeUnknown("upstream_outcome_unknown", f"{said} It may have started the job.")
        raise VendorUnavailable("upstream_unavailable", said)

    def _task(self, job_id: str) -> Any:
        if not TASK_ID.fullmatch(job_id):
            raise RemoteGone("upstream_job_missing", f"'{job_id}' is not a Runway task id.")
        try:
            return self._sdk_call("task", lambda: self.sdk.tasks.retrieve(job_id))
        except VendorHTTPError as exc:
            if exc.status == 404:
                raise RemoteGone(exc.code, exc.message) from None
            raise

    def _fresh_urls(self, job_id: str) -> list[str]:
        urls = _urls(self._task(job_id))
        if not urls:
            raise RemoteGone("upstream_assets_expired", f"{self.name} no longer has the video.")
        self._outputs[job_id] = urls
        return urls

    def _download(self, url: str, dest: Path) -> int:
        if not url.startswith(("https://", "http://")):
            raise ProviderError("upstream_invalid_asset",
                                f"{self.name} gave no video address it can fetch.")  # fmt: skip
        return self.http.download(url, dest, "video", authenticated=False)

    def _delete_task(self, job_id: str) -> bool:
        if not TASK_ID.fullmatch(job_id):
            return False
        try:
            self._sdk_call("cancel", lambda: self.sdk.tasks.delete(job_id))
        except VendorHTTPError as exc:
            if exc.status != 404:
                raise
        self._outputs.pop(job_id, None)
        return True

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key()}"}


def _urls(task: Any) -> list[str]:
    output = getattr(task, "output", None)
    return [str(u) for u in output if u] if isinstance(output, list) else []


def _inline(path: Path, mime: str, what: str, encode: bool = True) -> str:
    """A file as a ``data:`` URI ("" unless ``encode``), refused when over Runway's 5 MB
    (before it is read)."""
    if not path.exists():
        raise ProviderError("source_missing", f"The {what} no longer exists.")
    size = path.stat().st_size
    if 4 * math.ceil(size / 3) + 40 > MAX_DATA_URI_BYTES:
        raise ProviderError("source_too_large", f"The {what} ({size / (1 << 20):.1f} MB) is "
                            "larger than Runway takes inline (a data URI of up to 5 MB, "
                            "about 3.7 MB of file).")  # fmt: skip
    return data_uri(path, mime) if encode else ""


def _failed(job_id: str, code: str, message: str) -> RemoteStatus:
    """A task that ended without a video, in the studio's words (vendors.md): Runway's
    content moderation is moderation_blocked with its own reason."""
    if is_moderation(code):
        code, fallback = "moderation_blocked", "Runway's content moderation refused the task."
    else:
        code, fallback = (code or "upstream_failed")[:64], "The task failed at Runway."
    return RemoteStatus(id=job_id, status="failed", progress=100, error_code=code,
                        error_message=message or fallback)  # fmt: skip
