"""A fake fal queue (``queue.fal.run``) on loopback: real HTTP speaking the wire format of
fal-client 1.0.3 and fal's docs (vendors.md 2), with fal's error envelope (``{"detail":
...}``), counted calls per endpoint, faults on demand and webhooks signed with its own
Ed25519 key (published as a JWKS, as fal publishes its keys).

    with FakeFal(api_key="fal-key") as fal:
        fal.faults.submit_fault = "drop"   # make the request, answer nothing
        ... a Provider row of kind fal with base_url=fal.base_url ...
        assert fal.calls["submit"] == 1 and len(fal.jobs) == 1

Endpoints: ``POST /{app}`` (submit: any path without ``/requests/``), ``GET
/{root}/requests/{id}/status`` (status), ``GET /{root}/requests/{id}`` (result), ``PUT
/{root}/requests/{id}/cancel`` (cancel), ``GET /.well-known/jwks.json`` (jwks) and ``GET
/cdn/{id}/{link}/output.mp4`` (cdn: the signed result link, on the host name
``localhost`` so that it is another host than ``127.0.0.1``; no key needed). ``{root}``
is the app's first two path segments; a request is found only under its own root.

A key is accepted from ``Authorization: Key ...``; anything else answers 401.
Known apps check their inputs as fal's apps do and answer 422 ``{"detail": [{"loc",
"msg", "type"}]}``: Kling 2.1 Master (``duration`` "5" or "10", ``aspect_ratio``, an
image for image-to-video) and Wan 2.2 A14B (``num_frames`` 17-161, ``resolution``).

Faults (``fal.faults``):
- ``rate_limit``: {endpoint: call numbers} answered 429 with ``retry-after``.
- ``unavailable``: {endpoint: call numbers} answered 503.
- ``submit_fault``: ``"500"`` / ``"drop"``: the request IS made, then a 500 or a closed
  connection; ``"lost"``: closed before anything is made.
- ``fail_job``: (HTTP status, detail): a finished request's result answers that (fal's
  answer for a failed request: 422 or 500 with ``{"detail": ...}``).
- ``status_error``: (error, error_type) on the COMPLETED status (fal-client's
  ``Completed.error``).
- ``expire_after``: seconds after completion when result links answer 404.
- ``stale_link_once``: the first download answers 403 and the link changes (a fresh
  read of the result signs a new one).
- ``videos_list``: the result is ``{"videos": [...]}`` instead of ``{"video": ...}``.
- ``echo_key``: the 401 repeats the key it got (the studio must not).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.fake_upstream import sample_assets
from tests.fakes.http import FakeHandler
from tests.live import free_port

KLING = "fal-ai/kling-video/v2.1/master/"
WAN = "fal-ai/wan/v2.2-a14b/"


@dataclass
class FalFaults:
    rate_limit: dict[str, set[int]] = field(default_factory=dict)
    retry_after: float = 0.05
    unavailable: dict[str, set[int]] = field(default_factory=dict)
    submit_fault: str = ""  # "500" | "drop" | "lost"
    create_delay: float = 0.0  # seconds a create is held before it is answered (made at once)
    fail_job: tuple[int, Any] | None = None
    status_error: tuple[str, str] | None = None
    expire_after: float | None = None
    stale_link_once: bool = False
    videos_list: bool = False
    echo_key: bool = False


@dataclass
class Request:
    id: str
    app: str
    root: str
    body: dict[str, Any]
    webhook: str
    started: float
    cancelled: bool = False
    completed_at: float | None = None
    link: int = 0


def app_root(app: str) -> str:
    parts = app.split("/")
    return "/".join(parts[: 3 if parts[0] in ("workflows", "comfy") else 2])


def jwk_of(key: Ed25519PrivateKey) -> dict[str, str]:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": secrets.token_hex(4), "use": "sig"}


class FakeFal:
    def __init__(self, *, api_key: str = "fal-fake", render_seconds: float = 0.3) -> None:
        self.api_key = api_key
        self.render_seconds = render_seconds
        self.port = free_port()
        self.faults = FalFaults()
        self.calls: Counter[str] = Counter()
        self.bodies: list[tuple[str, dict[str, Any]]] = []  # (app, input JSON) per submit
        self.queries: list[tuple[str, dict[str, str]]] = []  # (endpoint, query)
        self.auth_seen: list[tuple[str, str]] = []  # (endpoint, Authorization)
        self.jobs: dict[str, Request] = {}
        self.signing_key = Ed25519PrivateKey.generate()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/.well-known/jwks.json"

    def start(self) -> FakeFal:
        fake = self

        class Handler(_Handler):
            fal = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> FakeFal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- requests ------------------------------------------------------------------

    def new(self, app: str, body: dict[str, Any] | None = None, *, done: bool = False,
            webhook: str = "") -> Request:  # fmt: skip
        with self.lock:
            job = Request(
                id=str(uuid.uuid4()), app=app, root=app_root(app), body=body or {},
                webhook=webhook, started=time.monotonic() - (3600 if done else 0),
            )  # fmt: skip
            self.jobs[job.id] = job
        return job

    def job_id(self, job: Request) -> str:
        """The studio's id of a request ("root|request id")."""
        return f"{job.root}|{job.id}"

    def state(self, job: Request) -> str:
        if job.cancelled:
            return "CANCELLED"
        elapsed = time.monotonic() - job.started
        if elapsed < self.render_seconds / 10:
            return "IN_QUEUE"
        if elapsed < self.render_seconds:
            return "IN_PROGRESS"
        if job.completed_at is None:
            job.completed_at = time.time()
        return "COMPLETED"

    def urls(self, job: Request) -> dict[str, str]:
        base = f"{self.base_url}/{job.root}/requests/{job.id}"
        return {"response_url": base, "status_url": base + "/status",
                "cancel_url": base + "/cancel"}  # fmt: skip

    def cdn_url(self, job: Request) -> str:
        return f"http://localhost:{self.port}/cdn/{job.id}/{job.link}/output.mp4"

    def result(self, job: Request) -> dict[str, Any]:
        video = {"url": self.cdn_url(job), "content_type": "video/mp4",
                 "file_name": "output.mp4", "file_size": len(sample_assets()["video"])}  # fmt: skip
        if self.faults.videos_list:
            return {"videos": [video], "seed": 42}
        return {"video": video, "seed": 42}

    def submits(self) -> int:
        return self.calls["submit"]

    # --- webhooks ------------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        return {"keys": [jwk_of(self.signing_key)]}

    def rotate_key(self) -> None:
        self.signing_key = Ed25519PrivateKey.generate()

    def webhook_message(
        self, request_id: str, *, status: str = "OK", payload: Any = None, error: str = "",
        timestamp: float | None = None, key: Ed25519PrivateKey | None = None,
        user_id: str = "user_fake_1",
    ) -> tuple[dict[str, str], bytes]:  # fmt: skip
        """(headers, body) of a delivery, signed as fal signs it: the hex Ed25519 signature
        of ``request id \\n user id \\n timestamp \\n sha256 hex of the body``."""
        event: dict[str, Any] = {
            "request_id": request_id, "gateway_request_id": request_id, "status": status,
            "payload": payload if payload is not None else {"video": {"url": "https://x"}},
        }  # fmt: skip
        if error:
            event["error"] = error
        body = json.dumps(event).encode()
        stamp = str(int(time.time() if timestamp is None else timestamp))
        digest = hashlib.sha256(body).hexdigest()
        message = f"{request_id}\n{user_id}\n{stamp}\n{digest}".encode()
        signature = (key or self.signing_key).sign(message).hex()
        headers = {
            "X-Fal-Webhook-Request-Id": request_id, "X-Fal-Webhook-User-Id": user_id,
            "X-Fal-Webhook-Timestamp": stamp, "X-Fal-Webhook-Signature": signature,
            "Content-Type": "application/json",
        }  # fmt: skip
        return headers, body


def invalid(app: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """What the app would refuse in ``body`` (fal's 422 items; empty when it is fine)."""

    def item(name: str, msg: str, kind: str) -> dict[str, Any]:
        return {"loc": ["body", name], "msg": msg, "type": kind,
                "url": f"https://docs.fal.ai/errors#{kind}"}  # fmt: skip

    wrong = []
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        wrong.append(item("prompt", "Field required", "missing"))
    if app.startswith(KLING):
        if body.get("duration", "5") not in ("5", "10"):
            wrong.append(item("duration", "Input should be '5' or '10'", "literal_error"))
        if body.get("aspect_ratio", "16:9") not in ("16:9", "9:16", "1:1"):
            wrong.append(item("aspect_ratio", "Input should be '16:9', '9:16' or '1:1'",
                              "literal_error"))  # fmt: skip
    if app.startswith(WAN):
        frames = body.get("num_frames", 81)
        if not isinstance(frames, int) or not 17 <= frames <= 161:
            wrong.append(item("num_frames", "Input should be between 17 and 161",
                              "less_than_equal"))  # fmt: skip
        if body.get("resolution", "720p") not in ("480p", "580p", "720p"):
            wrong.append(item("resolution", "Input should be '480p', '580p' or '720p'",
                              "literal_error"))  # fmt: skip
    needs_image = app.endswith("image-to-video")
    if needs_image and not str(body.get("image_url") or "").startswith(("data:image/", "http")):
        wrong.append(item("image_url", "Field required", "missing"))
    if app.endswith("video-to-video") and not str(body.get("video_url") or "").startswith(
        ("data:video/", "http")
    ):
        wrong.append(item("video_url", "Field required", "missing"))
    return wrong


class _Handler(FakeHandler):
    fal: FakeFal

    # --- plumbing ------------------------------------------------------------------

    def endpoint(self, method: str, parts: list[str]) -> tuple[str, list[str]]:
        if parts[:1] == ["cdn"] and len(parts) == 4 and method == "GET":
            return "cdn", parts[1:3]
        if parts == [".well-known", "jwks.json"] and method == "GET":
            return "jwks", []
        if "requests" in parts:
            at = parts.index("requests")
            root, rest = "/".join(parts[:at]), parts[at + 1 :]
            if rest and method == "GET" and rest[1:] == ["status"]:
                return "status", [root, rest[0]]
            if rest and method == "GET" and len(rest) == 1:
                return "result", [root, rest[0]]
            if rest and method == "PUT" and rest[1:] == ["cancel"]:
                return "cancel", [root, rest[0]]
            return "unknown", []
        if method == "POST" and len(parts) >= 2:
            return "submit", ["/".join(parts)]
        return "unknown", []

    def route(self, method: str) -> None:
        fal = self.fal
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        endpoint, target = self.endpoint(method, [p for p in url.path.split("/") if p])
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("authorization") or ""
        with fal.lock:
            fal.calls[endpoint] += 1
            number = fal.calls[endpoint]
            fal.auth_seen.append((endpoint, auth))
            fal.queries.append((endpoint, query))
        if endpoint == "cdn":
            self.do_cdn(*target)
            return
        if endpoint == "jwks":
            self.send_json(200, fal.jwks())
            return
        if auth != f"Key {fal.api_key}":
            said = f" (got {auth.removeprefix('Key ')})" if fal.faults.echo_key else ""
            self.send_json(401, {"detail": f"Authentication failed{said}"})
            return
        faults = fal.faults
        if number in faults.rate_limit.get(endpoint, set()):
            self.send_json(429, {"detail": "Too many requests"},
                           {"retry-after": str(faults.retry_after)})  # fmt: skip
            return
        if number in faults.unavailable.get(endpoint, set()):
            self.send_json(503, {"detail": "Service temporarily unavailable"})
            return
        if endpoint == "submit":
            self.do_submit(target[0], json.loads(raw) if raw else {}, query)
        elif endpoint == "unknown":
            self.send_json(404, {"detail": "Not found"})
        else:
            job = fal.jobs.get(target[1])
            if job is None or job.root != target[0]:
                self.send_json(404, {"detail": f"Request {target[1]} not found"})
                return
            getattr(self, f"do_{endpoint}")(job)

    # --- endpoints -----------------------------------------------------------------

    def do_submit(self, app: str, body: dict[str, Any], query: dict[str, str]) -> None:
        fal, faults = self.fal, self.fal.faults
        time.sleep(faults.create_delay)  # the request has arrived; its answer waits
        with fal.lock:
            fal.bodies.append((app, body))
        if wrong := invalid(app, body):
            self.send_json(422, {"detail": wrong})
            return
        if faults.submit_fault == "lost":
            faults.submit_fault = ""
            self.drop()
            return
        job = fal.new(app, body, webhook=query.get("fal_webhook", ""))
        if faults.submit_fault:
            fault, faults.submit_fault = faults.submit_fault, ""
            if fault == "drop":
                self.drop()
            else:
                self.send_json(500, {"detail": "Internal server error"})
            return
        self.send_json(200, {"request_id": job.id, "gateway_request_id": job.id,
                             "queue_position": 0, **fal.urls(job)})  # fmt: skip

    def do_status(self, job: Request) -> None:
        fal = self.fal
        state = fal.state(job)
        data: dict[str, Any] = {"status": state, "response_url": fal.urls(job)["response_url"]}
        if state == "IN_QUEUE":
            data["queue_position"] = 0
        elif state == "IN_PROGRESS":
            data["logs"] = []
        elif state == "CANCELLED":
            said = {"error": "The request was cancelled.", "error_type": "request_cancelled"}
            data.update(status="COMPLETED", logs=[], metrics={}, **said)
        else:
            data.update(logs=[], metrics={"inference_time": fal.render_seconds})
            if fal.faults.status_error:
                data["error"], data["error_type"] = fal.faults.status_error
        self.send_json(200, data)

    def do_result(self, job: Request) -> None:
        fal = self.fal
        if fal.state(job) != "COMPLETED":
            self.send_json(400, {"detail": "Request is still in progress"})
            return
        if fal.faults.fail_job:
            status, detail = fal.faults.fail_job
            self.send_json(status, {"detail": detail})
            return
        self.send_json(200, fal.result(job))

    def do_cancel(self, job: Request) -> None:
        if self.fal.state(job) in ("IN_QUEUE", "IN_PROGRESS"):
            job.cancelled = True
            self.send_json(202, {"status": "CANCELLATION_REQUESTED"})
            return
        self.send_json(400, {"status": "ALREADY_COMPLETED"})

    def do_cdn(self, request_id: str, link: str) -> None:
        fal, faults = self.fal, self.fal.faults
        job = fal.jobs.get(request_id)
        done_at = job.completed_at if job is not None else None
        expiry = faults.expire_after
        if (
            job is None
            or done_at is None
            or (expiry is not None and time.time() - done_at >= expiry)
        ):
            self.send_json(404, {"error": "Not found"})
            return
        if faults.stale_link_once:
            faults.stale_link_once = False
            job.link += 1
        if link != str(job.link):
            self.send_json(403, {"error": "The signed link has expired"})
            return
        data = sample_assets()["video"]
        self.send_response(200)
        self.send_header("content-type", "video/mp4")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
