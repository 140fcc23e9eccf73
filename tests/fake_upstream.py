"""A fake upstream ``/v1/videos`` service on loopback: a real HTTP server that speaks the
contract (docs: /work/shared/api-contract.md), counts the calls it gets per endpoint and
injects the faults a real gateway shows.

    with FakeUpstream(api_key="sk-up", render_seconds=0.5) as up:
        up.faults.create_fault = "500"   # create the job, then answer 500
        ... point a Provider row at up.base_url ...
        assert up.calls["create"] == 1

Faults (``up.faults``, change them at any time):
- ``rate_limit``: {endpoint: set of call numbers (1-based)} answered 429 + ``retry-after``
  (``retry_after`` seconds, or ``retry-after-ms`` when ``retry_after_ms`` is set).
- ``create_fault``: ``"500"`` or ``"drop"``: the job IS created, then the answer is a 500
  or the connection is closed without one; ``"lost"``: the connection is closed and no
  job is made (the request never got through). ``create_fault_times`` limits how many.
- ``fail_job``: (code, message): every job ends ``failed`` with that error.
- ``expire_after``: seconds after completion when content answers 404 (0: at once).
- ``poll_after_ms``: sent as ``openai-poll-after-ms`` on retrieve; ``-1``: a quarter of
  the time left (100 ms to 5 s), the way the studio's own /v1 advises.
- ``latency``: seconds every request waits before it is answered.
Start with ``listen_after=N`` to refuse connections for the first N seconds. Set
``clock_skew`` (seconds) to run the upstream's clock (its ``Date`` header and
``created_at``) that far ahead of this machine's.
"""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from functools import cache
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import numpy as np
from PIL import Image

from tests.fakes.http import FakeHandler
from tests.live import free_port
from videos_app.providers.base import ASSET_VARIANTS


@cache
def sample_assets() -> dict[str, bytes]:
    """A real (tiny) H.264 + AAC MP4, a WebP and a JPEG."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=12)
        video.width, video.height = 64, 36
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=48000)
        for i in range(12):
            frame = np.full((36, 64, 3), (i * 20) % 255, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        samples = np.zeros((1, 48000), dtype=np.float32)
        aframe = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        aframe.sample_rate = 48000
        for packet in audio.encode(aframe):
            container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)
    images = {}
    for fmt in ("WEBP", "JPEG"):
        out = io.BytesIO()
        Image.new("RGB", (64, 36), (30, 120, 200)).save(out, format=fmt)
        images[fmt] = out.getvalue()
    return {"video": buffer.getvalue(), "thumbnail": images["WEBP"], "spritesheet": images["JPEG"]}


CONTENT_TYPES = {name: v.content_type for name, v in ASSET_VARIANTS.items()}


@dataclass
class Faults:
    rate_limit: dict[str, set[int]] = field(default_factory=dict)
    retry_after: float = 1
    retry_after_ms: int | None = None
    create_fault: str = ""  # "500" | "drop" | "lost"
    create_fault_times: int = 1
    fail_job: tuple[str, str] | None = None
    expire_after: float | None = None
    poll_after_ms: int | None = None
    latency: float = 0.0


@dataclass
class Job:
    id: str
    prompt: str
    model: str
    size: str
    seconds: str
    created_at: int
    started: float
    remixed_from_video_id: str | None = None
    completed_at: float | None = None
    deleted: bool = False
    reference: bytes | None = None
    fields: dict[str, str] = field(default_factory=dict)


class FakeUpstream:
    def __init__(
        self, *, api_key: str = "sk-fake-upstream", render_seconds: float = 0.5,
        port: int | None = None,
    ) -> None:  # fmt: skip
        self.api_key = api_key
        self.render_seconds = render_seconds
        self.port = port or free_port()
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.auth_seen: list[str] = []
        # (endpoint, content type, form fields without file parts) of every request.
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        # When each job's first content download began (monotonic), for the benchmark.
        self.content_first_at: dict[str, float] = {}
        # Called with the job when it completes (an upstream's webhook, say).
        self.on_complete: Callable[[Job], None] | None = None
        self.clock_skew = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- lifecycle -----------------------------------------------------------------

    def start(self, listen_after: float = 0.0) -> FakeUpstream:
        if listen_after:
            timer = threading.Timer(listen_after, self._listen)
            timer.daemon = True
            timer.start()
        else:
            self._listen()
        return self

    def _listen(self) -> None:
        fake = self

        class Handler(_Handler):
            upstream = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the jobs ------------------------------------------------------------------

    def new_job(self, fields: dict[str, str], **extra: Any) -> Job:
        with self.lock:
            job = Job(
                id=f"video_{secrets.token_hex(16)}",
                prompt=fields.get("prompt", ""),
                model=fields.get("model", "sora-2"),
                size=fields.get("size", "720x1280"),
                seconds=str(fields.get("seconds", "4")),
                created_at=int(time.time() + self.clock_skew),
                started=time.monotonic(),
                fields=fields,
                **extra,
            )
            self.jobs[job.id] = job
        if self.on_complete is not None:
            timer = threading.Timer(self.render_seconds, self.on_complete, args=[job])
            timer.daemon = True
            timer.start()
        return job

    def status_of(self, job: Job) -> tuple[str, int]:
        elapsed = time.monotonic() - job.started
        if elapsed < self.render_seconds:
            return ("queued" if elapsed < self.render_seconds / 10 else "in_progress"), int(
                100 * elapsed / self.render_seconds
            )
        if job.completed_at is None:
            job.completed_at = time.time()
        return ("failed" if self.faults.fail_job else "completed"), 100

    def to_json(self, job: Job) -> dict[str, Any]:
        status, progress = self.status_of(job)
        error = None
        if status == "failed" and self.faults.fail_job:
            error = {"code": self.faults.fail_job[0], "message": self.faults.fail_job[1]}
        return {
            "id": job.id, "object": "video", "model": job.model, "status": status,
            "progress": progress, "created_at": job.created_at,
            "completed_at": int(job.completed_at) if job.completed_at else None,
            "expires_at": None, "prompt": job.prompt, "size": job.size,
            "seconds": job.seconds, "remixed_from_video_id": job.remixed_from_video_id,
            "error": error,
        }  # fmt: skip

    def expired(self, job: Job) -> bool:
        after = self.faults.expire_after
        return (
            after is not None
            and job.completed_at is not None
            and (time.time() - job.completed_at >= after)
        )

    def creates(self) -> int:
        """Every POST that makes a video (create, remix, edits, extensions)."""
        return sum(self.calls[k] for k in ("create", "remix", "edits", "extensions"))


class _Handler(FakeHandler):
    upstream: FakeUpstream
    endpoint_name = ""

    def date_time_string(self, timestamp: float | None = None) -> str:
        if timestamp is None:
            timestamp = time.time() + self.upstream.clock_skew
        return super().date_time_string(timestamp)

    # --- plumbing ------------------------------------------------------------------

    def send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
                  ) -> None:  # fmt: skip
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", f"req_{secrets.token_hex(8)}")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, message: str, code: str | None = None,
              param: str | None = None) -> None:  # fmt: skip
        self.send_json(status, {"error": {"message": message, "type": "invalid_request_error",
                                          "param": param, "code": code}})  # fmt: skip

    def body(self) -> dict[str, Any]:
        fields = self._body()
        strings = {k: v for k, v in fields.items() if isinstance(v, str)}
        with self.upstream.lock:
            self.upstream.requests.append(
                (self.endpoint_name, self.headers.get("content-type", ""), strings)
            )
        return fields

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw
            )
            fields: dict[str, Any] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if part.get_filename() is not None:
                    fields[str(name)] = payload
                else:
                    fields[str(name)] = (payload or b"").decode()
            return fields
        if raw:
            return dict(json.loads(raw))
        return {}

    def route(self, method: str) -> None:
        up = self.upstream
        if up.faults.latency:
            time.sleep(up.faults.latency)
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        endpoint, video_id = self.endpoint(method, parts, query)
        self.endpoint_name = endpoint
        with up.lock:
            up.calls[endpoint] += 1
            number = up.calls[endpoint]
            up.auth_seen.append(self.headers.get("authorization", ""))
        if self.headers.get("authorization") != f"Bearer {up.api_key}":
            self.body()
            # Echoes the key it got, as careless gateways do: the studio must not repeat it.
            sent = self.headers.get("authorization", "").removeprefix("Bearer ")
            self.error(401, f"Incorrect API key provided: {sent}.", "invalid_api_key")
            return
        if number in up.faults.rate_limit.get(endpoint, set()):
            self.body()
            headers = {"retry-after": str(up.faults.retry_after)}
            if up.faults.retry_after_ms is not None:
                headers = {"retry-after-ms": str(up.faults.retry_after_ms)}
            self.send_json(429, {"error": {"message": "Rate limit reached.", "type": "requests",
                                           "param": None, "code": "rate_limit_exceeded"}},
                           headers)  # fmt: skip
            return
        getattr(self, "do_" + endpoint.split(":")[0])(video_id, query)

    def endpoint(self, method: str, parts: list[str], query: dict[str, str]) -> tuple[str, str]:
        if parts[:2] != ["v1", "videos"]:
            return "unknown", ""
        rest = parts[2:]
        if method == "POST" and rest == []:
            return "create", ""
        if method == "GET" and rest == []:
            return "list", ""
        if method == "POST" and rest == ["edits"]:
            return "edits", ""
        if method == "POST" and rest == ["extensions"]:
            return "extensions", ""
        if len(rest) == 2 and rest[1] == "remix" and method == "POST":
            return "remix", rest[0]
        if len(rest) == 2 and rest[1] == "content" and method == "GET":
            return f"content:{query.get('variant', 'video')}", rest[0]
        if len(rest) == 1 and method == "GET":
            return "retrieve", rest[0]
        if len(rest) == 1 and method == "DELETE":
            return "delete", rest[0]
        return "unknown", ""

    # --- endpoints -----------------------------------------------------------------

    def do_unknown(self, video_id: str, query: dict[str, str]) -> None:
        self.body()
        self.error(404, "Unknown URL.", "not_found")

    def job(self, video_id: str) -> Job | None:
        job = self.upstream.jobs.get(video_id)
        if job is None or job.deleted:
            self.error(404, f"No video found with id '{video_id}'.", "video_not_found", "video_id")
            return None
        return job

    def answer_created(self, job: Job) -> None:
        up = self.upstream
        if up.faults.create_fault and up.faults.create_fault_times > 0:
            up.faults.create_fault_times -= 1
            if up.faults.create_fault == "drop":
                self.drop()
                return
            self.error(500, "The server had an error while processing your request.")
            return
        self.send_json(200, up.to_json(job))

    def do_create(self, video_id: str, query: dict[str, str]) -> None:
        fields = self.body()
        if not fields.get("prompt"):
            self.error(400, "Missing required parameter: 'prompt'.", "missing_required_parameter",
                       "prompt")  # fmt: skip
            return
        if not isinstance(fields.get("seconds", "4"), str):
            self.error(400, "Invalid type for 'seconds'.", "invalid_type", "seconds")
            return
        faults = self.upstream.faults
        if faults.create_fault == "lost" and faults.create_fault_times > 0:
            faults.create_fault_times -= 1
            self.drop()
            return
        reference = fields.pop("input_reference", None)
        strings = {k: v for k, v in fields.items() if isinstance(v, str)}
        job = self.upstream.new_job(strings, reference=reference)
        self.answer_created(job)

    def do_remix(self, video_id: str, query: dict[str, str]) -> None:
        fields = self.body()
        source = self.job(video_id)
        if source is None:
            return
        job = self.upstream.new_job(
            {"prompt": fields["prompt"], "model": source.model, "size": source.size,
             "seconds": source.seconds},
            remixed_from_video_id=source.id,
        )  # fmt: skip
        self.answer_created(job)

    def source_of(self, fields: dict[str, Any]) -> tuple[Job | None, bool]:
        """(the source job by id, or None for an upload); False when the answer was sent."""
        video = fields.get("video")
        source_id = fields.get("video[id]") or (
            video.get("id") if isinstance(video, dict) else None
        )
        if source_id:
            job = self.job(str(source_id))
            return job, job is not None
        upload = fields.get("video")
        if not isinstance(upload, bytes) or upload[4:8] != b"ftyp":
            self.error(400, "The video file is not an MP4 video that can be decoded.",
                       "invalid_type", "video")  # fmt: skip
            return None, False
        return None, True

    def do_edits(self, video_id: str, query: dict[str, str]) -> None:
        fields = self.body()
        source, ok = self.source_of(fields)
        if not ok:
            return
        job = self.upstream.new_job(
            {"prompt": fields["prompt"], "model": source.model if source else
             fields.get("model", "sora-2"), "size": source.size if source else "720x1280",
             "seconds": source.seconds if source else "4", "source": source.id if source else
             "upload"},
        )  # fmt: skip
        self.answer_created(job)

    def do_extensions(self, video_id: str, query: dict[str, str]) -> None:
        fields = self.body()
        source, ok = self.source_of(fields)
        if not ok:
            return
        base = int(source.seconds) if source else 4
        job = self.upstream.new_job(
            {"prompt": fields["prompt"], "model": source.model if source else "sora-2",
             "size": source.size if source else "720x1280",
             "seconds": str(base + int(fields.get("seconds", "4"))),
             "source": source.id if source else "upload"},
        )  # fmt: skip
        self.answer_created(job)

    def do_retrieve(self, video_id: str, query: dict[str, str]) -> None:
        job = self.job(video_id)
        if job is None:
            return
        headers = {}
        poll_after = self.upstream.faults.poll_after_ms
        if poll_after == -1:
            left = job.started + self.upstream.render_seconds - time.monotonic()
            poll_after = int(min(5000, max(100, left * 1000 / 4)))
        if poll_after is not None:
            headers["openai-poll-after-ms"] = str(poll_after)
        self.send_json(200, self.upstream.to_json(job), headers)

    def do_list(self, video_id: str, query: dict[str, str]) -> None:
        up = self.upstream
        with up.lock:
            jobs = [j for j in up.jobs.values() if not j.deleted]
        jobs.reverse()  # newest first
        if query.get("order") == "asc":
            jobs.reverse()
        if query.get("after"):
            ids = [j.id for j in jobs]
            jobs = jobs[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
        limit = int(query.get("limit", 20))
        page = jobs[:limit]
        data = [up.to_json(j) for j in page]
        self.send_json(200, {"object": "list", "data": data,
                             "first_id": data[0]["id"] if data else None,
                             "last_id": data[-1]["id"] if data else None,
                             "has_more": len(jobs) > limit})  # fmt: skip

    def do_delete(self, video_id: str, query: dict[str, str]) -> None:
        self.body()
        job = self.job(video_id)
        if job is None:
            return
        job.deleted = True
        self.send_json(200, {"id": job.id, "object": "video.deleted", "deleted": True})

    def do_content(self, video_id: str, query: dict[str, str]) -> None:
        job = self.job(video_id)
        if job is None:
            return
        variant = query.get("variant", "video")
        if variant not in CONTENT_TYPES:
            self.error(400, f"Invalid value: '{variant}'.", "invalid_value", "variant")
            return
        status, _ = self.upstream.status_of(job)
        if status != "completed":
            self.error(400, "The video is not ready yet.", "video_not_ready")
            return
        if self.upstream.expired(job):
            self.error(404, "The video's assets have expired.", "video_expired")
            return
        data = sample_assets()[variant]
        with self.upstream.lock:
            self.upstream.content_first_at.setdefault(job.id, time.monotonic())
        self.send_response(200)
        self.send_header("content-type", CONTENT_TYPES[variant])
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    """Run a fake upstream on its own (benchmarks, manual checks)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--render-seconds", type=float, default=2.0)
    parser.add_argument("--api-key", default="sk-fake-upstream")
    args = parser.parse_args()
    up = FakeUpstream(api_key=args.api_key, render_seconds=args.render_seconds,
                      port=args.port or None).start()  # fmt: skip
    print(up.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        up.stop()


if __name__ == "__main__":
    main()
