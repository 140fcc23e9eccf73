"""A fake OpenRouter video API on loopback: real HTTP speaking the wire format of the
``openrouter`` SDK 1.3.84 (``video_generation``: ``POST /videos``, ``GET /videos/{id}``,
``GET /videos/{id}/content``, ``GET /videos/models``; ``GET /key``) under ``/api/v1``, with
OpenRouter's error envelope (``{"error": {"code": <status>, "message", "metadata"?}}``),
counted calls per endpoint, faults on demand and webhooks signed as OpenRouter signs them
(``X-OpenRouter-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t},{body}">``).

    with FakeOpenRouter(api_key="sk-or-v1-...") as fake:
        fake.faults.create_fault = "drop"   # make the job, answer nothing
        ... a Provider row of kind openrouter with base_url=fake.base_url ...
        assert fake.calls["create"] == 1 and len(fake.jobs) == 1

Endpoints: ``create``, ``status``, ``content`` (the job's video, with the key),
``models``, ``key``, and ``signed`` (``GET /signed/{id}/{token}/video.mp4``: the signed
link of ``urls``, on the host ``localhost`` so that it is another host than
``127.0.0.1``; no key needed, and it counts a key sent to it in ``keys_at_signed``).
Only ``models`` answers without a key (OpenRouter's list is public); any other request
without ``Authorization: Bearer <key>`` answers 401.

The models listed are ``MODELS`` (a Veo 3.1, a Seedance 2.0 and one the studio's table
does not know, ``acme/clip-1``); a create is checked as OpenRouter checks it (400 for a
duration, resolution or aspect ratio outside the model's, a malformed frame image, a
``callback_url`` that is not HTTPS; 400 for ``previous_job_id`` of another model, 409 of
a job not completed, 404 of an unknown one).

Faults (``fake.faults``):
- ``rate_limit``: {endpoint: call numbers} answered 429 with ``retry-after``.
- ``unavailable``: {endpoint: call numbers} answered 503.
- ``create_fault``: ``"500"`` / ``"drop"``: the job IS made, then a 500 or a closed
  connection; ``"lost"``: closed before anything is made.
- ``credits``: the create answers 402 (insufficient credits).
- ``moderation``: reasons: the create answers 403 with ``metadata.reasons``.
- ``fail_job``: the job ends ``failed`` with this ``error``.
- ``end_as``: ``"cancelled"`` / ``"expired"``: the job ends so.
- ``content_gone``: the content endpoint answers 404 (the stored copy's signed link may
  still work, unless ``signed_gone``).
- ``signed_gone``: signed links answer 403 (expired).
- ``echo_key``: the 401 repeats the key it got (the studio must not).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fake_upstream import sample_assets
from tests.fakes.http import FakeHandler
from tests.live import free_port

PREFIX = "/api/v1"


def _model(model_id: str, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": model_id, "canonical_slug": model_id, "name": model_id, "created": 1719792000,
        "allowed_passthrough_parameters": [], "creativity": None, "upscale_factor": None,
        "generate_audio": True, "seed": True, "supported_aspect_ratios": ["16:9", "9:16"],
        "supported_durations": [4, 6, 8], "supported_frame_images": ["first_frame", "last_frame"],
        "supported_resolutions": ["720p", "1080p"], "supported_sizes": None,
        "pricing_skus": {"per-video-second": "0.40"},
    }  # fmt: skip
    entry.update(fields)
    return entry


MODELS: dict[str, dict[str, Any]] = {
    m["id"]: m
    for m in (
        _model("google/veo-3.1"),
        _model("bytedance/seedance-2.0", supported_durations=list(range(4, 16)),
               supported_resolutions=["480p", "720p"],
               supported_aspect_ratios=["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"]),
        _model("acme/clip-1", supported_durations=[5, 10], supported_resolutions=["720p"],
               supported_aspect_ratios=["16:9", "1:1"], supported_frame_images=["first_frame"],
               seed=False, generate_audio=None),
    )
}  # fmt: skip
CONTINUES = ("google/veo-3.1",)  # the models that take previous_job_id


@dataclass
class OpenRouterFaults:
    rate_limit: dict[str, set[int]] = field(default_factory=dict)
    retry_after: float = 0.05
    unavailable: dict[str, set[int]] = field(default_factory=dict)
    create_fault: str = ""  # "500" | "drop" | "lost"
    create_delay: float = 0.0  # seconds a create is held before it is answered (made at once)
    credits: bool = False
    moderation: list[str] | None = None
    fail_job: str = ""
    end_as: str = ""  # "cancelled" | "expired"
    content_gone: bool = False
    signed_gone: bool = False
    echo_key: bool = False


@dataclass
class Job:
    id: str
    body: dict[str, Any]
    started: float
    token: str = field(default_factory=lambda: secrets.token_hex(8))


class FakeOpenRouter:
    def __init__(
        self, *, api_key: str = "sk-or-v1-fake", render_seconds: float = 0.3,
        webhook_secret: str = "whsec-openrouter-fake",  # noqa: S107 (a test's own)
    ) -> None:  # fmt: skip
        self.api_key = api_key
        self.render_seconds = render_seconds
        self.webhook_secret = webhook_secret
        self.port = free_port()
        self.faults = OpenRouterFaults()
        self.calls: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []  # the JSON of every create received
        self.auth_seen: list[tuple[str, str]] = []  # (endpoint, Authorization)
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    def start(self) -> FakeOpenRouter:
        fake = self

        class Handler(_Handler):
            openrouter = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> FakeOpenRouter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- jobs ----------------------------------------------------------------------

    def new(self, body: dict[str, Any] | None = None, *, done: bool = False) -> Job:
        """A job as a create makes it; ``done``: already completed."""
        with self.lock:
            job_id = f"gen-vid-{int(time.time())}-{secrets.token_hex(10)}"
            job = Job(id=job_id, body=body or {"model": "google/veo-3.1"},
                      started=time.monotonic() - (3600 if done else 0))  # fmt: skip
            self.jobs[job.id] = job
        return job

    def state(self, job: Job) -> str:
        elapsed = time.monotonic() - job.started
        if elapsed < self.render_seconds / 10:
            return "pending"
        if elapsed < self.render_seconds:
            return "in_progress"
        if self.faults.fail_job:
            return "failed"
        return self.faults.end_as or "completed"

    def view(self, job: Job) -> dict[str, Any]:
        """``VideoGenerationResponse`` of the job as it is now."""
        state = self.state(job)
        data: dict[str, Any] = {"id": job.id, "polling_url": f"{self.base_url}/videos/{job.id}",
                                "status": state}  # fmt: skip
        if state == "completed":
            data.update(
                generation_id=f"gen-{job.id[-8:]}",
                unsigned_urls=[f"{self.base_url}/videos/{job.id}/content?index=0"],
                urls=[self.signed_url(job)], expires_at=int(time.time()) + 3600,
                usage={"cost": 3.2, "is_byok": False},
            )  # fmt: skip
        elif state == "failed":
            data["error"] = self.faults.fail_job
        elif state == "expired":
            data["error"] = "The job expired before it finished."
        return data

    def signed_url(self, job: Job) -> str:
        return f"http://localhost:{self.port}/signed/{job.id}/{job.token}/video.mp4"

    def creates(self) -> int:
        return self.calls["create"]

    # --- webhooks ------------------------------------------------------------------

    def webhook_message(
        self, job_id: str, *, status: str = "completed", timestamp: float | None = None,
        secret: str | None = None,
    ) -> tuple[dict[str, str], bytes]:  # fmt: skip
        """(headers, body) of a delivery as OpenRouter signs it."""
        content = f"{self.base_url}/videos/{job_id}/content?index=0"
        event = {"type": f"video.generation.{status}", "created_at": "2026-11-02T10:00:00Z",
                 "data": {"id": job_id, "status": status, "model": "google/veo-3.1",
                          "unsigned_urls": [content]}}  # fmt: skip
        body = json.dumps(event).encode()
        stamp = str(int(time.time() if timestamp is None else timestamp))
        key = (self.webhook_secret if secret is None else secret).encode()
        signature = hmac.new(key, stamp.encode() + b"," + body, hashlib.sha256).hexdigest()
        headers = {
            "X-OpenRouter-Signature": f"t={stamp},v1={signature}",
            "X-OpenRouter-Idempotency-Key": f"{job_id}-{status}",
            "Content-Type": "application/json",
        }
        return headers, body


def invalid(body: dict[str, Any], fake: FakeOpenRouter) -> tuple[int, str] | None:
    """What OpenRouter would refuse in a create (status, message), or None."""
    model = MODELS.get(str(body.get("model") or ""))
    if model is None:
        return 400, f"Model {body.get('model')!r} is not a video model"
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return 400, "prompt: Required"
    callback = body.get("callback_url")
    if callback is not None and not str(callback).startswith("https://"):
        return 400, "callback_url: Must be an HTTPS URL"
    previous = body.get("previous_job_id")
    if previous is not None:
        source = fake.jobs.get(str(previous))
        if source is None:
            return 404, f"Video job {previous} not found"
        if source.body.get("model") != model["id"]:
            return 400, "previous_job_id must be continued on the model that made it"
        if fake.state(source) != "completed":
            return 409, f"Video job {previous} is not completed"
        if model["id"] not in CONTINUES:
            return 400, f"{model['id']} does not support continuation"
    checks = (("duration", "supported_durations"), ("resolution", "supported_resolutions"),
              ("aspect_ratio", "supported_aspect_ratios"))  # fmt: skip
    for name, listed in checks:
        if name in body and body[name] not in (model[listed] or []):
            return 400, f"{name}: {body[name]!r} is not supported by {model['id']}"
    for frame in body.get("frame_images") or []:
        url = str((frame.get("image_url") or {}).get("url") or "")
        if frame.get("type") != "image_url" or not url.startswith("data:image/"):
            return 400, "frame_images: each needs type image_url and an image_url.url"
        if frame.get("frame_type") not in (model["supported_frame_images"] or []):
            return 400, f"frame_type {frame.get('frame_type')!r} is not supported"
    return None


class _Handler(FakeHandler):
    openrouter: FakeOpenRouter

    # --- plumbing ------------------------------------------------------------------

    def send_error_envelope(self, status: int, message: str, metadata: Any = None,
                            headers: dict[str, str] | None = None) -> None:  # fmt: skip
        error: dict[str, Any] = {"code": status, "message": message}
        if metadata is not None:
            error["metadata"] = metadata
        self.send_json(status, {"error": error, "user_id": "user_fake"}, headers)

    def send_video(self) -> None:
        data = sample_assets()["video"]
        self.send_response(200)
        self.send_header("content-type", "video/mp4")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def endpoint(self, method: str, path: str) -> tuple[str, list[str]]:
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["signed"] and len(parts) == 4 and method == "GET":
            return "signed", parts[1:3]
        if not path.startswith(PREFIX + "/"):
            return "unknown", []
        parts = parts[2:]
        if parts == ["videos"] and method == "POST":
            return "create", []
        if parts == ["videos", "models"] and method == "GET":
            return "models", []
        if parts == ["key"] and method == "GET":
            return "key", []
        if len(parts) == 2 and parts[0] == "videos" and method == "GET":
            return "status", [parts[1]]
        if len(parts) == 3 and parts[0] == "videos" and parts[2] == "content" and method == "GET":
            return "content", [parts[1]]
        return "unknown", []

    def route(self, method: str) -> None:
        fake, faults = self.openrouter, self.openrouter.faults
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        endpoint, target = self.endpoint(method, url.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("authorization") or ""
        with fake.lock:
            fake.calls[endpoint] += 1
            number = fake.calls[endpoint]
            fake.auth_seen.append((endpoint, auth))
        if endpoint == "signed":
            self.do_signed(*target)
            return
        if endpoint != "models" and auth != f"Bearer {fake.api_key}":
            said = f" (got {auth.removeprefix('Bearer ')})" if faults.echo_key else ""
            self.send_error_envelope(401, f"No auth credentials found{said}")
            return
        if number in faults.rate_limit.get(endpoint, set()):
            self.send_error_envelope(429, "Rate limit exceeded",
                                     headers={"retry-after": str(faults.retry_after)})  # fmt: skip
            return
        if number in faults.unavailable.get(endpoint, set()):
            self.send_error_envelope(503, "Service temporarily unavailable")
            return
        if endpoint == "create":
            self.do_create(json.loads(raw) if raw else {})
        elif endpoint == "models":
            self.send_json(200, {"data": list(MODELS.values())})
        elif endpoint == "key":
            key = {"label": "sk-or-v1-...abc", "limit": 50.0, "limit_remaining": 41.5,
                   "is_free_tier": False}  # fmt: skip
            self.send_json(200, {"data": key})
        elif endpoint == "unknown":
            self.send_error_envelope(404, "Not Found")
        else:
            job = fake.jobs.get(target[0])
            if job is None:
                self.send_error_envelope(404, f"Video job {target[0]} not found")
            elif endpoint == "status":
                self.send_json(200, fake.view(job))
            else:
                self.do_content(job, query)

    # --- endpoints -----------------------------------------------------------------

    def do_create(self, body: dict[str, Any]) -> None:
        fake, faults = self.openrouter, self.openrouter.faults
        time.sleep(faults.create_delay)  # the request has arrived; its answer waits
        with fake.lock:
            fake.bodies.append(body)
        if faults.credits:
            self.send_error_envelope(402, "Insufficient credits. Add more using "
                                     "https://openrouter.ai/credits")  # fmt: skip
            return
        if faults.moderation is not None:
            self.send_error_envelope(403, "Your input was flagged", {
                "reasons": faults.moderation, "flagged_input": body.get("prompt", "")[:100],
                "provider_name": "Google", "model_slug": body.get("model"),
            })  # fmt: skip
            return
        if refused := invalid(body, fake):
            self.send_error_envelope(*refused)
            return
        if faults.create_fault == "lost":
            faults.create_fault = ""
            self.drop()
            return
        job = fake.new(body)
        if faults.create_fault:
            fault, faults.create_fault = faults.create_fault, ""
            if fault == "drop":
                self.drop()
            else:
                self.send_error_envelope(500, "Internal Server Error")
            return
        self.send_json(202, {"id": job.id, "polling_url": f"{PREFIX}/videos/{job.id}",
                             "status": "pending"})  # fmt: skip

    def do_content(self, job: Job, query: dict[str, str]) -> None:
        fake = self.openrouter
        if fake.state(job) != "completed":
            self.send_error_envelope(409, "Video is not ready")
        elif fake.faults.content_gone or query.get("index", "0") != "0":
            self.send_error_envelope(404, "Video content not found")
        else:
            self.send_video()

    def do_signed(self, job_id: str, token: str) -> None:
        fake = self.openrouter
        job = fake.jobs.get(job_id)
        if self.headers.get("authorization"):
            fake.calls["keys_at_signed"] += 1
        if job is None or token != job.token or fake.state(job) != "completed":
            self.send_json(404, {"error": "Not found"})
        elif fake.faults.signed_gone:
            self.send_json(403, {"error": "Request has expired"})
        else:
            self.send_video()
