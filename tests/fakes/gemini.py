"""A fake Gemini API (Interactions API for Gemini Omni) on loopback: real HTTP speaking
the wire format of ``google-genai`` 3.6.1 (vendors.md 1a), with Google's error envelope,
counted calls per endpoint and faults on demand.

    with FakeGemini(api_key="AIza-test") as gemini:
        gemini.faults.create_fault = "drop"   # make the interaction, answer nothing
        ... a Provider row of kind gemini_omni with base_url=gemini.base_url ...
        assert gemini.calls["create"] == 1 and len(gemini.interactions) == 1

Endpoints (``{v}`` is ``v1`` or ``v1beta``): ``POST /{v}/interactions`` (create),
``GET /{v}/interactions/{id}`` (get), ``POST /{v}/interactions/{id}/cancel`` (cancel),
``DELETE /{v}/interactions/{id}`` (delete), ``GET /v1beta/models/{model}`` (model),
``GET /v1beta/files/{name}:download`` (file: the video, with the key) and
``GET /cdn/{name}`` (cdn: where a file redirects when ``redirect_files`` is on, on the
host name ``localhost`` so it is another host than ``127.0.0.1``).

A key is accepted from ``x-goog-api-key`` (or ``?key=``); a wrong one is answered as
Google does: 400 ``INVALID_ARGUMENT`` with reason ``API_KEY_INVALID``.

Faults (``gemini.faults``):
- ``rate_limit``: {endpoint: call numbers} answered 429 ``RESOURCE_EXHAUSTED`` with
  ``retry-after`` (``retry_after`` s) and a ``RetryInfo`` detail.
- ``unavailable``: {endpoint: call numbers} answered 503 ``UNAVAILABLE``.
- ``create_fault``: ``"500"`` / ``"drop"``: the interaction IS made, then a 500 or a
  closed connection; ``"lost"``: closed before anything is made.
- ``fail_job``: (code, message): interactions end ``failed`` with that error.
- ``final_status``: another final status (``incomplete``, ``budget_exceeded``,
  ``cancelled``, or ``completed`` with ``no_video``).
- ``expire_after``: seconds after completion when files answer 404.
- ``stale_link_once``: the first file download answers 403 and the link changes (a
  fresh read of the interaction gives the new one).
- ``inline``: the video comes as base64 ``data``; ``steps_only``: only in ``steps``.
- ``echo_key``: the key error repeats the key it got (the studio must not).

``webhook_message(...)`` signs an event as Google's static webhooks do (Standard
Webhooks: HMAC-SHA256 of ``id.timestamp.body`` with the ``whsec_`` secret's bytes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fake_upstream import sample_assets
from tests.fakes.http import FakeHandler
from tests.live import free_port

TASKS = {"text_to_video", "image_to_video", "reference_to_video", "edit", "extend", "upscale"}


@dataclass
class GeminiFaults:
    rate_limit: dict[str, set[int]] = field(default_factory=dict)
    retry_after: float = 0.05
    unavailable: dict[str, set[int]] = field(default_factory=dict)
    create_fault: str = ""  # "500" | "drop" | "lost"
    create_delay: float = 0.0  # seconds a create is held before it is answered (made at once)
    fail_job: tuple[str, str] | None = None
    final_status: str = ""
    no_video: bool = False
    expire_after: float | None = None
    stale_link_once: bool = False
    inline: bool = False
    steps_only: bool = False
    redirect_files: bool = False
    echo_key: bool = False


@dataclass
class Interaction:
    id: str
    body: dict[str, Any]
    started: float
    created: str
    status: str = ""  # set once final (cancelled, or when the render time passed)
    completed_at: float | None = None
    link: int = 0  # the file link's generation
    deleted: bool = False


class FakeGemini:
    def __init__(self, *, api_key: str = "AIza-fake", render_seconds: float = 0.3) -> None:
        self.api_key = api_key
        self.render_seconds = render_seconds
        self.port = free_port()
        self.faults = GeminiFaults()
        self.calls: Counter[str] = Counter()
        self.bodies: list[tuple[str, dict[str, Any]]] = []  # (endpoint, JSON body)
        self.queries: list[tuple[str, dict[str, str]]] = []  # (endpoint, query)
        self.keys_seen: list[tuple[str, str]] = []  # (endpoint, x-goog-api-key)
        self.interactions: dict[str, Interaction] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeGemini:
        fake = self

        class Handler(_Handler):
            gemini = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        # A short poll interval: shutdown() waits for it.
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> FakeGemini:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- interactions --------------------------------------------------------------

    def new(self, body: dict[str, Any], *, done: bool = False) -> Interaction:
        with self.lock:
            job = Interaction(
                id=f"v1_{secrets.token_hex(12)}",
                body=body,
                started=time.monotonic() - (3600 if done else 0),
                created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            self.interactions[job.id] = job
        return job

    def status_of(self, job: Interaction) -> str:
        if job.status:
            return job.status
        elapsed = time.monotonic() - job.started
        if elapsed < self.render_seconds / 10:
            return "queued"
        if elapsed < self.render_seconds:
            return "in_progress"
        faults = self.faults
        job.status = faults.final_status or ("failed" if faults.fail_job else "completed")
        job.completed_at = time.time()
        return job.status

    def file_url(self, job: Interaction) -> str:
        return f"{self.base_url}/v1beta/files/{job.id}:download?alt=media&link={job.link}"

    def to_json(self, job: Interaction) -> dict[str, Any]:
        status = self.status_of(job)
        data: dict[str, Any] = {
            "id": job.id, "status": status, "model": job.body.get("model"),
            "created": job.created, "updated": job.created,
            "response_format": job.body.get("response_format"),
            "usage": {"total_tokens": 46340},
        }  # fmt: skip
        if job.body.get("previous_interaction_id"):
            data["previous_interaction_id"] = job.body["previous_interaction_id"]
        if status == "completed" and not self.faults.no_video:
            video: dict[str, Any] = {"type": "video", "mime_type": "video/mp4"}
            if self.faults.inline:
                video["data"] = base64.b64encode(sample_assets()["video"]).decode()
            else:
                video["uri"] = self.file_url(job)
            data["steps"] = [{"type": "model_output", "content": [video]}]
            if not self.faults.steps_only:
                data["output_video"] = video
        elif status == "completed":
            text = {"type": "text", "text": "I can only describe that scene."}
            data["steps"] = [{"type": "model_output", "content": [text]}]
        if status == "failed" and self.faults.fail_job:
            code, message = self.faults.fail_job
            data["errors"] = [{"code": code, "message": message}]
        return data

    def creates(self) -> int:
        return self.calls["create"]

    def webhook_message(
        self, secret: str, event_type: str, interaction_id: str, *,
        timestamp: float | None = None, webhook_id: str | None = None,
    ) -> tuple[dict[str, str], bytes]:  # fmt: skip
        """(headers, body) of a static webhook's delivery, signed as Google signs it."""
        body = json.dumps({
            "type": event_type, "version": "v1",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": {"id": interaction_id},
        }).encode()  # fmt: skip
        msg_id = webhook_id or f"msg_{secrets.token_hex(10)}"
        stamp = str(int(time.time() if timestamp is None else timestamp))
        key = base64.b64decode(secret.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(),
            "content-type": "application/json",
        }
        return headers, body


def google_error(status: int, word: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": word, **extra}}


class _Handler(FakeHandler):
    gemini: FakeGemini
    json_type = "application/json; charset=UTF-8"

    # --- plumbing ------------------------------------------------------------------

    def error(self, status: int, word: str, message: str, **extra: Any) -> None:
        self.send_json(status, google_error(status, word, message, **extra))

    def read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        return dict(json.loads(raw)) if raw else {}

    def endpoint(self, method: str, parts: list[str]) -> tuple[str, str]:
        if parts[:1] == ["cdn"] and len(parts) == 2 and method == "GET":
            return "cdn", parts[1]
        if parts[:2] == ["v1beta", "models"] and len(parts) == 3 and method == "GET":
            return "model", parts[2]
        if parts[:2] == ["v1beta", "files"] and len(parts) == 3 and method == "GET":
            name, _, verb = parts[2].partition(":")
            return ("file", name) if verb == "download" else ("unknown", "")
        if len(parts) < 2 or parts[0] not in ("v1", "v1beta") or parts[1] != "interactions":
            return "unknown", ""
        rest = parts[2:]
        if method == "POST" and not rest:
            return "create", ""
        if method == "POST" and len(rest) == 2 and rest[1] == "cancel":
            return "cancel", rest[0]
        if len(rest) == 1 and method in ("GET", "DELETE"):
            return ("get" if method == "GET" else "delete"), rest[0]
        return "unknown", ""

    def route(self, method: str) -> None:
        gemini = self.gemini
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        endpoint, target = self.endpoint(method, url.path.strip("/").split("/"))
        body = self.read_json() if method == "POST" else {}
        key = self.headers.get("x-goog-api-key") or query.get("key", "")
        with gemini.lock:
            gemini.calls[endpoint] += 1
            number = gemini.calls[endpoint]
            gemini.keys_seen.append((endpoint, key))
            gemini.queries.append((endpoint, query))
            if method == "POST":
                gemini.bodies.append((endpoint, body))
        if endpoint == "cdn":  # a signed storage link: no key needed
            self.do_cdn(target)
            return
        if key != gemini.api_key:
            said = f" (got {key})" if gemini.faults.echo_key else ""
            info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID", "domain": "googleapis.com"}  # fmt: skip
            self.error(400, "INVALID_ARGUMENT", f"API key not valid. Please pass a valid API "
                       f"key.{said}", details=[info])  # fmt: skip
            return
        faults = gemini.faults
        if number in faults.rate_limit.get(endpoint, set()):
            retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                     "retryDelay": f"{faults.retry_after}s"}  # fmt: skip
            self.send_json(429, google_error(429, "RESOURCE_EXHAUSTED",
                                             "Resource has been exhausted (e.g. check quota).",
                                             details=[retry]),
                           {"retry-after": str(faults.retry_after)})  # fmt: skip
            return
        if number in faults.unavailable.get(endpoint, set()):
            self.error(503, "UNAVAILABLE", "The service is currently unavailable.")
            return
        getattr(self, f"do_{endpoint}")(target, body)

    # --- endpoints -----------------------------------------------------------------

    def do_unknown(self, target: str, body: dict[str, Any]) -> None:
        self.error(404, "NOT_FOUND", "Method not found.")

    def job(self, job_id: str) -> Interaction | None:
        job = self.gemini.interactions.get(job_id)
        if job is None or job.deleted:
            self.error(404, "NOT_FOUND", f"Interaction {job_id} was not found.")
            return None
        return job

    def do_create(self, target: str, body: dict[str, Any]) -> None:
        gemini, faults = self.gemini, self.gemini.faults
        time.sleep(faults.create_delay)  # the request has arrived; its answer waits
        invalid = self.invalid(body)
        if invalid:
            self.error(400, "INVALID_ARGUMENT", invalid)
            return
        previous = body.get("previous_interaction_id")
        if previous and self.job(previous) is None:
            return
        if faults.create_fault == "lost":
            faults.create_fault = ""
            self.drop()
            return
        job = gemini.new(body)
        if faults.create_fault:
            fault, faults.create_fault = faults.create_fault, ""
            if fault == "drop":
                self.drop()
            else:
                self.error(500, "INTERNAL", "An internal error has occurred.")
            return
        self.send_json(200, gemini.to_json(job))

    def invalid(self, body: dict[str, Any]) -> str:
        """What Google would refuse in a create ("" when it is well formed)."""
        fmt = body.get("response_format") or {}
        task = ((body.get("generation_config") or {}).get("video_config") or {}).get("task")
        steps = body.get("input")
        if not body.get("model") or not isinstance(steps, list) or not steps:
            return "model and input are required."
        if not all(s.get("type") == "user_input" and s.get("content") for s in steps):
            return "input steps must be user_input with content."
        if body.get("background") is not True:
            return "A video interaction must run in the background."
        if fmt.get("type") != "video" or fmt.get("aspect_ratio") not in ("16:9", "9:16"):
            return "response_format must be a video of 16:9 or 9:16."
        if fmt.get("resolution") not in ("360p", "720p", "1080p", "4k"):
            return f"Unsupported resolution {fmt.get('resolution')!r}."
        seconds = str(fmt.get("duration") or "")
        if not (seconds.endswith("s") and seconds[:-1].isdigit() and 3 <= int(seconds[:-1]) <= 10):
            return f"Unsupported duration {seconds!r}: 3s to 10s."
        if task is not None and task not in TASKS:
            return f"Unknown task {task!r}."
        return ""

    def do_get(self, target: str, body: dict[str, Any]) -> None:
        job = self.job(target)
        if job is not None:
            self.send_json(200, self.gemini.to_json(job))

    def do_cancel(self, target: str, body: dict[str, Any]) -> None:
        job = self.job(target)
        if job is None:
            return
        if self.gemini.status_of(job) in ("queued", "in_progress"):
            job.status = "cancelled"
            self.send_json(200, self.gemini.to_json(job))
            return
        self.error(400, "FAILED_PRECONDITION", f"Interaction {job.id} has already finished.")

    def do_delete(self, target: str, body: dict[str, Any]) -> None:
        job = self.job(target)
        if job is not None:
            job.deleted = True
            self.send_json(200, {})

    def do_model(self, target: str, body: dict[str, Any]) -> None:
        if not target.startswith("gemini-omni-"):
            self.error(404, "NOT_FOUND", f"models/{target} is not found for API version v1beta.")
            return
        self.send_json(200, {"name": f"models/{target}", "version": target.split("-")[2],
                             "displayName": "Gemini Omni Flash",
                             "supportedGenerationMethods": ["createInteraction"]})  # fmt: skip

    def do_file(self, target: str, body: dict[str, Any]) -> None:
        gemini, faults = self.gemini, self.gemini.faults
        job = gemini.interactions.get(target)
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        expiry = faults.expire_after
        done_at = job.completed_at if job is not None else None
        if done_at is None or (expiry is not None and time.time() - done_at >= expiry):
            self.error(404, "NOT_FOUND", f"File {target} does not exist.")
            return
        assert job is not None
        if faults.stale_link_once:
            faults.stale_link_once = False
            job.link += 1
        if query.get("link") != str(job.link):
            self.error(403, "PERMISSION_DENIED", "The link to this file has expired.")
            return
        if faults.redirect_files:
            self.send_response(302)
            self.send_header("location", f"http://localhost:{gemini.port}/cdn/{job.id}?sig=x")
            self.send_header("content-length", "0")
            self.end_headers()
            return
        self.send_video()

    def do_cdn(self, target: str) -> None:
        self.send_video()

    def send_video(self) -> None:
        data = sample_assets()["video"]
        self.send_response(200)
        self.send_header("content-type", "video/mp4")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
