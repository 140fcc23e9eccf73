"""A fake Runway API (``api.dev.runwayml.com``) on loopback: real HTTP speaking the wire
format of ``runwayml`` 5.24.0 and Runway's docs (vendors.md 3), with Runway's error
envelope (``{"error": "...", "issues"?: [{"path", "message"}]}``), counted calls per
endpoint, faults on demand and signed, expiring output links.

    with FakeRunway(api_key="key_...") as runway:
        runway.faults.create_fault = "drop"   # make the task, answer nothing
        ... a Provider row of kind runway with base_url=runway.base_url ...
        assert runway.creates() == 1 and len(runway.tasks) == 1

Endpoints (counted under these names): ``POST /v1/text_to_video``, ``/v1/image_to_video``,
``/v1/video_to_video`` (the creates: each model's fields, ratios and durations checked
as the SDK's types say, unknown fields refused), ``GET /v1/tasks/{id}`` (task), ``DELETE
/v1/tasks/{id}`` (cancel: a running task is cancelled, a finished one deleted; 204),
``GET /v1/organization`` (organization) and ``GET /cdn/{id}/output.mp4?exp=&n=&sig=``
(cdn: the signed output link, on the host name ``localhost`` so that it is another host
than ``127.0.0.1``; no key needed). Each read of a succeeded task signs fresh links.

Every API call needs ``Authorization: Bearer <key>`` (else 401) and ``X-Runway-Version:
2024-11-06`` (else 400).

Faults (``runway.faults``):
- ``rate_limit``: {endpoint: call numbers} answered 429 with ``retry-after``.
- ``unavailable``: {endpoint: call numbers} answered 503.
- ``create_fault``: ``"500"`` / ``"drop"``: the task IS made, then a 500 or a closed
  connection; ``"lost"``: closed before anything is made.
- ``create_delay``: seconds a create is held before it is answered (the task is made at once).
- ``fail_job``: (failure, failureCode) the next tasks end FAILED with.
- ``throttle_seconds``: how long new tasks stay THROTTLED after PENDING.
- ``link_ttl``: seconds a signed output link is valid for (negative: born expired).
- ``stale_links``: how many downloads are answered 403 (expired) whatever the link.
- ``outputs_gone``: every download answers 404 (the output was removed).
- ``echo_key``: the 401 repeats the key it got (the studio must not).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fake_upstream import sample_assets
from tests.fakes.http import FakeHandler
from tests.live import free_port

VERSION = "2024-11-06"
CREATES = ("text_to_video", "image_to_video", "video_to_video")
GEN4 = ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672")
VEO = ("1280:720", "720:1280", "1080:1920", "1920:1080")
OUTPUT = ("contentModeration", "outputFormat", "proresProfile")
_VEO_SPEC = {"ratios": VEO, "durations": (4, 6, 8), "positions": ("first", "last"),
             "fields": ("audio", "negativePrompt", "seed")}  # fmt: skip
# The models each create takes and their rules, from the SDK's *_create_params types.
MODELS: dict[str, dict[str, dict[str, Any]]] = {
    "text_to_video": {
        "gen4.5": {"ratios": ("1280:720", "720:1280"), "durations": range(2, 11),
                   "fields": ("seed", *OUTPUT)},
        "veo3.1": _VEO_SPEC, "veo3.1_fast": _VEO_SPEC,
        "kling3.0_pro": {"ratios": (), "durations": (), "fields": ("audio",)},
    },
    "image_to_video": {
        "gen4.5": {"ratios": GEN4, "durations": range(2, 11), "positions": ("first",),
                   "fields": ("seed", *OUTPUT)},
        "gen4_turbo": {"ratios": GEN4, "durations": (5, 10), "positions": ("first",),
                       "fields": ("seed", "contentModeration")},
        "veo3.1": _VEO_SPEC, "veo3.1_fast": _VEO_SPEC,
        "kling3.0_pro": {"ratios": (), "durations": (), "positions": ("first", "last"),
                         "fields": ("audio",)},
    },
    "video_to_video": {
        "aleph2": {"fields": ("seed", "ratio", "keyframes", "targetAspectRatio", *OUTPUT)},
        "gen4_aleph": {"fields": ("seed", "ratio", "references", "contentModeration")},
    },
}  # fmt: skip
CREDITS = {"gen4.5": 12, "gen4_turbo": 5, "aleph2": 15, "gen4_aleph": 15, "veo3.1": 40,
           "veo3.1_fast": 15}  # fmt: skip


@dataclass
class RunwayFaults:
    rate_limit: dict[str, set[int]] = field(default_factory=dict)
    retry_after: float = 0.05
    unavailable: dict[str, set[int]] = field(default_factory=dict)
    create_fault: str = ""  # "500" | "drop" | "lost"
    create_delay: float = 0.0
    fail_job: tuple[str, str] | None = None  # (failure, failureCode)
    throttle_seconds: float = 0.0
    link_ttl: float = 86400.0
    stale_links: int = 0
    outputs_gone: bool = False
    echo_key: bool = False


@dataclass
class Task:
    id: str
    endpoint: str
    body: dict[str, Any]
    started: float  # monotonic
    created_at: str
    throttle: float = 0.0
    failure: tuple[str, str] | None = None
    cancelled: bool = False
    deleted: bool = False

    @property
    def credits(self) -> int:
        seconds = int(self.body.get("duration") or 5)
        return CREDITS.get(str(self.body.get("model")), 10) * seconds


class FakeRunway:
    def __init__(self, *, api_key: str = "key_fake", render_seconds: float = 0.3) -> None:
        self.api_key = api_key
        self.render_seconds = render_seconds
        self.port = free_port()
        self.faults = RunwayFaults()
        self.calls: Counter[str] = Counter()
        self.bodies: list[tuple[str, dict[str, Any]]] = []  # (endpoint, JSON) per create
        self.seen: list[tuple[str, dict[str, str]]] = []  # (endpoint, request headers)
        self.tasks: dict[str, Task] = {}
        self.credit_balance = 123_456
        self.link_secret = secrets.token_bytes(16)
        self.signed = 0  # links signed so far (each read signs new ones)
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeRunway:
        fake = self

        class Handler(_Handler):
            runway = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> FakeRunway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests read -----------------------------------------------------------

    def creates(self) -> int:
        return sum(self.calls[e] for e in CREATES)

    def cancels(self) -> int:
        return self.calls["cancel"]

    def created(self) -> list[dict[str, Any]]:
        return [body for _, body in self.bodies]

    def headers_for(self, endpoint: str) -> list[dict[str, str]]:
        return [h for e, h in self.seen if e == endpoint]

    # --- tasks ---------------------------------------------------------------------

    def new(self, endpoint: str = "text_to_video", body: dict[str, Any] | None = None, *,
            done: bool = False) -> Task:  # fmt: skip
        with self.lock:
            task = Task(
                id=str(uuid.uuid4()), endpoint=endpoint,
                body=body or {"model": "gen4.5", "duration": 5},
                started=time.monotonic() - (3600 if done else 0),
                created_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z"),
                throttle=self.faults.throttle_seconds, failure=self.faults.fail_job,
            )  # fmt: skip
            self.tasks[task.id] = task
        return task

    def state(self, task: Task) -> tuple[str, float]:
        """The task's status and, while it runs, its progress (0..1)."""
        if task.cancelled:
            return "CANCELLED", 0.0
        elapsed = time.monotonic() - task.started
        queued = self.render_seconds / 10
        if elapsed < queued:
            return "PENDING", 0.0
        if elapsed < queued + task.throttle:
            return "THROTTLED", 0.0
        running = elapsed - queued - task.throttle
        if running < self.render_seconds - queued:
            return "RUNNING", round(running / (self.render_seconds - queued), 2)
        return ("FAILED" if task.failure else "SUCCEEDED"), 1.0

    def sign(self, task: Task) -> str:
        with self.lock:
            self.signed += 1
            nonce = self.signed
        expires = int(time.time() + self.faults.link_ttl)
        return (f"http://localhost:{self.port}/cdn/{task.id}/output.mp4?exp={expires}&n={nonce}"
                f"&sig={self.signature(task.id, expires, nonce)}")  # fmt: skip

    def signature(self, task_id: str, expires: int, nonce: int) -> str:
        message = f"{task_id}:{expires}:{nonce}".encode()
        return hmac.new(self.link_secret, message, hashlib.sha256).hexdigest()[:32]

    def task_json(self, task: Task) -> dict[str, Any]:
        status, progress = self.state(task)
        data: dict[str, Any] = {"id": task.id, "status": status, "createdAt": task.created_at}
        if status in ("PENDING", "THROTTLED", "RUNNING"):
            data["estimatedCost"] = {"credits": task.credits}
        else:
            charged = 0 if status == "CANCELLED" or task.failure else task.credits
            data["cost"] = {"credits": charged}
        if status == "RUNNING":
            data["progress"] = progress
        elif status == "SUCCEEDED":
            data["output"] = [self.sign(task)]
        elif status == "FAILED" and task.failure:
            data["failure"], data["failureCode"] = task.failure
        return data

    def organization(self) -> dict[str, Any]:
        return {
            "creditBalance": self.credit_balance,
            "tier": {"maxMonthlyCreditSpend": 10_000,
                     "models": {"gen4.5": {"maxConcurrentGenerations": 2,
                                           "maxDailyGenerations": 200}}},
            "usage": {"models": {"gen4.5": {"dailyGenerations": 3}}},
        }  # fmt: skip


def invalid(endpoint: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """What Runway would refuse in ``body`` (its 400 issues; empty when it is fine)."""

    def issue(path: str, message: str) -> dict[str, Any]:
        return {"path": [path], "message": message}

    model = body.get("model")
    spec = MODELS[endpoint].get(str(model))
    if spec is None:
        known = " | ".join(f"'{m}'" for m in MODELS[endpoint])
        return [issue("model", f"Invalid enum value. Expected {known}, received '{model}'")]
    wrong = []
    required = {"text_to_video": ("promptText", "ratio"), "image_to_video": ("promptImage",),
                "video_to_video": ("videoUri",)}[endpoint]  # fmt: skip
    allowed = {"model", "promptText", "ratio", "duration", *required, *spec["fields"]}
    for name in required:
        if name not in body:
            wrong.append(issue(name, "Required"))
    for name in sorted(set(body) - allowed):
        wrong.append(issue(name, f"Unrecognized key: '{name}'"))
    text = body.get("promptText")
    if text is not None and not (isinstance(text, str) and 0 < len(text) <= 1000):
        wrong.append(issue("promptText", "String must contain 1 to 1000 character(s)"))
    ratios, durations = spec.get("ratios", ()), spec.get("durations", ())
    if "ratio" in body and ratios and body["ratio"] not in ratios:
        wrong.append(issue("ratio", f"Invalid enum value. Expected {' | '.join(ratios)}, "
                                    f"received '{body['ratio']}'"))  # fmt: skip
    if "duration" in body and durations and body["duration"] not in durations:
        wrong.append(issue("duration", f"Invalid duration {body['duration']}"))
    if endpoint == "image_to_video":
        frames = body.get("promptImage")
        frames = [{"uri": frames, "position": "first"}] if isinstance(frames, str) else frames
        for frame in frames or ():
            if not str(frame.get("uri", "")).startswith(("data:image/", "https://")):
                wrong.append(issue("promptImage", "Invalid data URI."))
            if frame.get("position") not in spec["positions"]:
                wrong.append(issue("promptImage", f"Invalid position '{frame.get('position')}'"))
    if endpoint == "video_to_video" and not str(body.get("videoUri", "")).startswith(
        ("data:video/", "https://")
    ):
        wrong.append(issue("videoUri", "Invalid data URI."))
    return wrong


class _Handler(FakeHandler):
    runway: FakeRunway
    json_type = "application/json; charset=utf-8"

    # --- plumbing ------------------------------------------------------------------

    def endpoint(self, method: str, parts: list[str]) -> tuple[str, str]:
        if parts[:1] == ["cdn"] and len(parts) == 3 and method == "GET":
            return "cdn", parts[1]
        if parts[:1] != ["v1"]:
            return "unknown", ""
        rest = parts[1:]
        if method == "POST" and len(rest) == 1 and rest[0] in CREATES:
            return rest[0], ""
        if len(rest) == 2 and rest[0] == "tasks" and method in ("GET", "DELETE"):
            return ("task" if method == "GET" else "cancel"), rest[1]
        if rest == ["organization"] and method == "GET":
            return "organization", ""
        return "unknown", ""

    def route(self, method: str) -> None:
        runway = self.runway
        url = urlsplit(self.path)
        endpoint, target = self.endpoint(method, [p for p in url.path.split("/") if p])
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("authorization") or ""
        with runway.lock:
            runway.calls[endpoint] += 1
            number = runway.calls[endpoint]
            runway.seen.append((endpoint, {k.lower(): v for k, v in self.headers.items()}))
        if endpoint == "cdn":
            self.do_cdn(target, {k: v[0] for k, v in parse_qs(url.query).items()})
            return
        if auth != f"Bearer {runway.api_key}":
            said = f" (got {auth.removeprefix('Bearer ')})" if runway.faults.echo_key else ""
            self.send_json(401, {"error": f"Incorrect API key{said}"})
            return
        if self.headers.get("x-runway-version") != VERSION:
            self.send_json(400, {"error": "The X-Runway-Version header must be set to a "
                                          "supported version, e.g. 2024-11-06."})  # fmt: skip
            return
        faults = runway.faults
        if number in faults.rate_limit.get(endpoint, set()):
            self.send_json(429, {"error": "You have exceeded the rate limit."},
                           {"retry-after": str(faults.retry_after)})  # fmt: skip
            return
        if number in faults.unavailable.get(endpoint, set()):
            self.send_json(503, {"error": "Service unavailable."})
            return
        if endpoint in CREATES:
            self.do_create(endpoint, json.loads(raw) if raw else {})
        elif endpoint == "organization":
            self.send_json(200, runway.organization())
        elif endpoint == "unknown":
            self.send_json(404, {"error": "Not found."})
        else:
            task = runway.tasks.get(target)
            if task is None or task.deleted:
                self.send_json(404, {"error": "Task not found."})
                return
            self.do_task(task) if endpoint == "task" else self.do_cancel(task)

    # --- endpoints -----------------------------------------------------------------

    def do_create(self, endpoint: str, body: dict[str, Any]) -> None:
        runway, faults = self.runway, self.runway.faults
        with runway.lock:
            runway.bodies.append((endpoint, body))
        if wrong := invalid(endpoint, body):
            self.send_json(400, {"error": "Validation of body failed", "issues": wrong})
            return
        if faults.create_fault == "lost":
            faults.create_fault = ""
            self.drop()
            return
        task = runway.new(endpoint, body)
        time.sleep(faults.create_delay)  # made; its answer waits
        if faults.create_fault:
            fault, faults.create_fault = faults.create_fault, ""
            if fault == "drop":
                self.drop()
            else:
                self.send_json(500, {"error": "An unexpected error occurred."})
            return
        self.send_json(200, {"id": task.id})

    def do_task(self, task: Task) -> None:
        self.send_json(200, self.runway.task_json(task))

    def do_cancel(self, task: Task) -> None:
        if self.runway.state(task)[0] in ("PENDING", "THROTTLED", "RUNNING"):
            task.cancelled = True
        else:
            task.deleted = True
        self.send_json(204, None)

    def do_cdn(self, task_id: str, query: dict[str, str]) -> None:
        runway, faults = self.runway, self.runway.faults
        task = runway.tasks.get(task_id)
        if task is None or task.deleted or faults.outputs_gone:
            self.send_json(404, {"error": "Not found"})
            return
        try:
            expires, nonce = int(query["exp"]), int(query["n"])
            signed = hmac.compare_digest(query["sig"], runway.signature(task_id, expires, nonce))
        except (KeyError, ValueError):
            signed, expires = False, 0
        stale = faults.stale_links > 0
        if stale:
            faults.stale_links -= 1
        if not signed or stale or expires < time.time():
            self.send_json(403, {"error": "Request has expired"})
            return
        data = sample_assets()["video"]
        self.send_response(200)
        self.send_header("content-type", "video/mp4")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
