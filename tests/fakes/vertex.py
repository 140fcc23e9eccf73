"""A fake Vertex AI (Veo predictions) and Google OAuth token endpoint on loopback: real
HTTP in the wire format of ``google-genai`` 3.6.1's Vertex mode and ``google-auth``'s
JWT-bearer grant (vendors.md 1b), Google's error envelope, counted calls, faults on demand.

    with FakeVertex(public_key=key.public_key()) as vertex:
        info = vertex.service_account(private_pem)   # the JSON key, token_uri -> the fake
        vertex.faults.create_fault = "drop"           # make the operation, answer nothing
        ... a Provider row of kind vertex_veo with base_url=vertex.base_url ...
        assert vertex.calls["create"] == 1 and len(vertex.operations) == 1

Endpoints: ``POST /token`` (token: form ``grant_type=urn:ietf:params:oauth:grant-type:
jwt-bearer&assertion=<JWT>``; the JWT's RS256 signature is checked with the service
account's public key, and its ``iss``, ``aud``, ``scope`` and ``exp``), then under
``/v1/projects/{P}/locations/{L}/publishers/google/models/``: ``{model}:predictLongRunning``
(create) and ``{model}:fetchPredictOperation`` (fetch), with ``Authorization: Bearer``
of a token the fake issued and that has not expired (else 401 ``UNAUTHENTICATED``);
``GET /download/{op}`` (download: a signed link, no token wanted).

Faults (``vertex.faults``):
- ``token_refused``: the token endpoint answers 400 ``invalid_grant``.
- ``token_lifetime``: seconds a token lives (``expires_in``; default 3600).
- ``revoke_tokens``: every token issued so far is refused (401) from now on.
- ``permission_denied``: predictions answer 403 ``PERMISSION_DENIED``.
- ``rate_limit`` / ``unavailable``: {endpoint: call numbers} answered 429
  ``RESOURCE_EXHAUSTED`` (``retry-after`` and a ``RetryInfo`` detail) / 503 ``UNAVAILABLE``.
- ``create_fault``: ``"500"`` / ``"drop"``: the operation IS made, then a 500 or a closed
  connection; ``"lost"``: closed before anything is made.
- ``fail_job``: (rpc code number, message): operations end ``done`` with that ``error``.
- ``filtered``: reasons: operations end with ``raiMediaFilteredCount`` and the reasons, and
  no videos (how Veo answers a Responsible AI refusal).
- ``links``: videos come as ``gcsUri`` https-style links to ``/download`` (else inline
  ``bytesBase64Encoded``); ``gs_uri``: as a ``gs://`` URI.
- ``expire_after``: seconds after completion when the operation (and its links) answer 404.
- ``stale_link_once``: the first download answers 403 and the link changes.
- ``links_gone``: every download answers 410 (a fresh read gives the same link).
"""

from __future__ import annotations

import base64
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

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fake_upstream import sample_assets
from tests.fakes.http import FakeHandler
from tests.live import free_port

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# google-auth names Google's own token endpoint as the JWT's audience, whatever the
# key's token_uri (service_account._GOOGLE_OAUTH2_TOKEN_ENDPOINT), and Google accepts it.
AUDIENCE = "https://oauth2.googleapis.com/token"
MODELS = ("veo-3.1-generate-001", "veo-3.1-fast-generate-001")
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


@dataclass
class VertexFaults:
    token_refused: bool = False
    token_lifetime: int = 3600
    revoke_tokens: bool = False
    permission_denied: bool = False
    rate_limit: dict[str, set[int]] = field(default_factory=dict)
    retry_after: float = 0.05
    unavailable: dict[str, set[int]] = field(default_factory=dict)
    create_fault: str = ""  # "500" | "drop" | "lost"
    create_delay: float = 0.0  # seconds a create is held before it is answered (made at once)
    fail_job: tuple[int, str] | None = None
    filtered: list[str] | None = None
    links: bool = False
    gs_uri: bool = False
    expire_after: float | None = None
    stale_link_once: bool = False
    links_gone: bool = False


@dataclass
class Operation:
    name: str
    model: str
    body: dict[str, Any]
    started: float
    completed_at: float | None = None
    link: int = 0  # the download link's generation


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeVertex:
    def __init__(
        self,
        *,
        public_key: rsa.RSAPublicKey,
        project: str = "studio-test",
        location: str = "us-central1",
        client_email: str = "veo-runner@studio-test.iam.gserviceaccount.com",
        render_seconds: float = 0.3,
    ) -> None:
        self.public_key = public_key
        self.project, self.location, self.client_email = project, location, client_email
        self.render_seconds = render_seconds
        self.port = free_port()
        self.faults = VertexFaults()
        self.calls: Counter[str] = Counter()
        self.bodies: list[tuple[str, dict[str, Any]]] = []  # (endpoint, JSON body)
        self.auth_seen: list[tuple[str, str]] = []  # (endpoint, authorization header)
        self.assertions: list[dict[str, Any]] = []  # verified JWT claims
        self.tokens: dict[str, float] = {}  # access token -> expiry (time.time())
        self.operations: dict[str, Operation] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def resource(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/publishers/google/models"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1/{self.resource}"

    @property
    def token_uri(self) -> str:
        return f"{self.origin}/token"

    def service_account(self, private_pem: str, **extra: Any) -> dict[str, Any]:
        """The service account's JSON key, as Google's console downloads it."""
        return {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": secrets.token_hex(20),
            "private_key": private_pem,
            "client_email": self.client_email,
            "client_id": "104" + "0" * 18,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "universe_domain": "googleapis.com",
            **extra,
        }

    def start(self) -> FakeVertex:
        fake = self

        class Handler(_Handler):
            vertex = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> FakeVertex:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- operations ----------------------------------------------------------------

    def new(self, model: str, body: dict[str, Any], *, done: bool = False) -> Operation:
        with self.lock:
            op = Operation(
                name=f"{self.resource}/{model}/operations/{uuid.uuid4()}",
                model=model,
                body=body,
                started=time.monotonic() - (3600 if done else 0),
            )
            self.operations[op.name] = op
        return op

    def done(self, op: Operation) -> bool:
        if time.monotonic() - op.started < self.render_seconds:
            return False
        if op.completed_at is None:
            op.completed_at = time.time()
        return True

    def expired(self, op: Operation) -> bool:
        expiry = self.faults.expire_after
        done_at = op.completed_at
        return expiry is not None and done_at is not None and time.time() - done_at >= expiry

    def to_json(self, op: Operation) -> dict[str, Any]:
        if not self.done(op):
            return {"name": op.name, "done": False}
        faults = self.faults
        data: dict[str, Any] = {"name": op.name, "done": True}
        kind = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
        if faults.fail_job is not None:
            code, message = faults.fail_job
            data["error"] = {"code": code, "message": message}
        elif faults.filtered is not None:
            data["response"] = {
                "@type": kind,
                "raiMediaFilteredCount": 1,
                "raiMediaFilteredReasons": list(faults.filtered),
            }
        else:
            if faults.gs_uri:
                video = {"gcsUri": f"gs://veo-out/{op.name.rsplit('/', 1)[1]}/sample_0.mp4"}
            elif faults.links:
                op_id = op.name.rsplit("/", 1)[1]
                video = {"gcsUri": f"{self.origin}/download/{op_id}?link={op.link}"}
            else:
                video = {"bytesBase64Encoded": base64.b64encode(sample_assets()["video"]).decode()}
            data["response"] = {"@type": kind, "videos": [{**video, "mimeType": "video/mp4"}]}
        return data

    def creates(self) -> list[dict[str, Any]]:
        return [body for endpoint, body in self.bodies if endpoint == "create"]

    # --- tokens --------------------------------------------------------------------

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The JWT-bearer grant: (status, body) as Google's token endpoint answers."""

        def refused(description: str) -> tuple[int, dict[str, Any]]:
            return 400, {"error": "invalid_grant", "error_description": description}

        if form.get("grant_type") != JWT_BEARER:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant"}
        try:
            header_b64, claims_b64, signature_b64 = form.get("assertion", "").split(".")
            header = json.loads(unb64url(header_b64))
            claims = json.loads(unb64url(claims_b64))
            signature = unb64url(signature_b64)
        except ValueError:
            return refused("Invalid JWT: Token must be a short-lived token and in a reasonable "
                           "timeframe.")  # fmt: skip
        if header.get("alg") != "RS256":
            return refused("Invalid JWT: the signing algorithm must be RS256.")
        try:
            self.public_key.verify(
                signature, f"{header_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(), hashes.SHA256(),
            )  # fmt: skip
        except InvalidSignature:
            return refused("Invalid JWT Signature.")
        if claims.get("iss") != self.client_email:
            return refused("Invalid grant: account not found")
        if claims.get("aud") != AUDIENCE or SCOPE not in str(claims.get("scope")).split():
            return refused("Invalid JWT: audience or scope is wrong.")
        if not claims.get("iat", 0) - 300 <= time.time() <= claims.get("exp", 0):
            return refused("Invalid JWT: Token must be a short-lived token (60 minutes) and in "
                           "a reasonable timeframe.")  # fmt: skip
        self.assertions.append(claims)
        if self.faults.token_refused:
            return refused("Invalid JWT Signature.")
        token = f"ya29.c.fake-{secrets.token_urlsafe(24)}"
        lifetime = self.faults.token_lifetime
        with self.lock:
            self.tokens[token] = time.time() + lifetime
        return 200, {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}

    def token_valid(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or self.faults.revoke_tokens:
            return False
        expiry = self.tokens.get(token)
        return expiry is not None and time.time() < expiry


def google_error(status: int, word: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": word, **extra}}


class _Handler(FakeHandler):
    vertex: FakeVertex
    json_type = "application/json; charset=UTF-8"

    # --- plumbing ------------------------------------------------------------------

    def error(self, status: int, word: str, message: str, **extra: Any) -> None:
        self.send_json(status, google_error(status, word, message, **extra))

    def endpoint(self, method: str, path: str) -> tuple[str, str]:
        """(endpoint, its target: the model, or the operation id)."""
        if method == "POST" and path == "/token":
            return "token", ""
        if method == "GET" and path.startswith("/download/"):
            return "download", path.removeprefix("/download/")
        prefix = f"/v1/{self.vertex.resource}/"
        if method == "POST" and path.startswith(prefix):
            model, _, verb = path.removeprefix(prefix).partition(":")
            verbs = {"predictLongRunning": "create", "fetchPredictOperation": "fetch"}
            if verb in verbs and "/" not in model:
                return verbs[verb], model
        return "unknown", ""

    def route(self, method: str) -> None:
        vertex = self.vertex
        url = urlsplit(self.path)
        endpoint, target = self.endpoint(method, url.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        authorization = self.headers.get("authorization") or ""
        with vertex.lock:
            vertex.calls[endpoint] += 1
            number = vertex.calls[endpoint]
            vertex.auth_seen.append((endpoint, authorization))
        if endpoint == "token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            status, body = vertex.grant(form)
            self.send_json(status, body)
            return
        if endpoint == "download":  # a signed link: no token wanted
            self.do_download(target, {k: v[0] for k, v in parse_qs(url.query).items()})
            return
        if endpoint == "unknown":
            self.error(404, "NOT_FOUND", f"The requested URL {url.path} was not found.")
            return
        body = json.loads(raw) if raw else {}
        with vertex.lock:
            vertex.bodies.append((endpoint, body))
        if not vertex.token_valid(authorization):
            self.error(401, "UNAUTHENTICATED", UNAUTHENTICATED)
            return
        faults = vertex.faults
        if number in faults.rate_limit.get(endpoint, set()):
            retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                     "retryDelay": f"{faults.retry_after}s"}  # fmt: skip
            self.send_json(429, google_error(429, "RESOURCE_EXHAUSTED",
                                             "Quota exceeded for aiplatform.googleapis.com/"
                                             "online_prediction_requests_per_base_model.",
                                             details=[retry]),
                           {"retry-after": str(faults.retry_after)})  # fmt: skip
            return
        if number in faults.unavailable.get(endpoint, set()):
            self.error(503, "UNAVAILABLE", "The service is currently unavailable.")
            return
        if target not in MODELS:
            self.error(404, "NOT_FOUND", f"Publisher Model `{vertex.resource}/{target}` not found.")
            return
        if faults.permission_denied:
            self.error(403, "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' "
                       f"denied on resource '//aiplatform.googleapis.com/{vertex.resource}/"
                       f"{target}' (or it may not exist).")  # fmt: skip
            return
        getattr(self, f"do_{endpoint}")(target, body)

    # --- endpoints -----------------------------------------------------------------

    def do_create(self, model: str, body: dict[str, Any]) -> None:
        vertex, faults = self.vertex, self.vertex.faults
        time.sleep(faults.create_delay)  # the request has arrived; its answer waits
        invalid = self.invalid(body)
        if invalid:
            self.error(400, "INVALID_ARGUMENT", invalid)
            return
        if faults.create_fault == "lost":
            faults.create_fault = ""
            self.drop()
            return
        op = vertex.new(model, body)
        if faults.create_fault:
            fault, faults.create_fault = faults.create_fault, ""
            if fault == "drop":
                self.drop()
            else:
                self.error(500, "INTERNAL", "Internal error encountered.")
            return
        self.send_json(200, {"name": op.name})

    def invalid(self, body: dict[str, Any]) -> str:
        """What Vertex would refuse in a create ("" when it is well formed)."""
        instances, parameters = body.get("instances"), body.get("parameters") or {}
        if not isinstance(instances, list) or len(instances) != 1:
            return "instances must hold exactly one instance."
        instance = instances[0]
        if not isinstance(instance.get("prompt"), str) or not instance["prompt"]:
            return "The prompt is required."
        images = [instance.get(k) for k in ("image", "lastFrame") if k in instance]
        images += [r.get("image") for r in instance.get("referenceImages") or []]
        for image in images:
            if not isinstance(image, dict) or not image.get("mimeType", "").startswith("image/"):
                return "An image needs bytesBase64Encoded and an image mimeType."
            base64.b64decode(image["bytesBase64Encoded"], validate=True)
        if any(r.get("referenceType") != "asset" for r in instance.get("referenceImages") or []):
            return "referenceType must be asset."
        if "lastFrame" in instance and "image" not in instance:
            return "lastFrame needs image."
        video = instance.get("video")
        seconds = parameters.get("durationSeconds")
        if video is not None:
            if video.get("mimeType") != "video/mp4" or not video.get("bytesBase64Encoded"):
                return "The video to extend needs bytesBase64Encoded and video/mp4."
            if seconds != 7 or parameters.get("resolution") != "720p":
                return "A video extension is 7 seconds at 720p."
        elif seconds not in (4, 6, 8):
            return f"Unsupported duration {seconds!r}: 4, 6 or 8 seconds."
        if parameters.get("aspectRatio") not in ("16:9", "9:16"):
            return f"Unsupported aspect ratio {parameters.get('aspectRatio')!r}."
        if parameters.get("resolution") not in ("720p", "1080p", "4k"):
            return f"Unsupported resolution {parameters.get('resolution')!r}."
        if parameters.get("sampleCount", 1) != 1 or "storageUri" in parameters:
            return "The studio asks for one inline sample."
        return ""

    def do_fetch(self, model: str, body: dict[str, Any]) -> None:
        vertex = self.vertex
        name = str(body.get("operationName") or "")
        if not name.startswith(f"{vertex.resource}/{model}/operations/"):
            self.error(400, "INVALID_ARGUMENT", f"Invalid operation name {name!r}.")
            return
        op = vertex.operations.get(name)
        if op is None or vertex.expired(op):
            self.error(404, "NOT_FOUND", f"Operation {name} not found.")
            return
        self.send_json(200, vertex.to_json(op))

    def do_download(self, op_id: str, query: dict[str, str]) -> None:
        vertex, faults = self.vertex, self.vertex.faults
        ops = vertex.operations.values()
        op = next((o for o in ops if o.name.endswith(f"/operations/{op_id}")), None)
        if op is None or op.completed_at is None or vertex.expired(op):
            self.error(404, "NOT_FOUND", "No such object.")
            return
        if faults.links_gone:
            self.error(410, "NOT_FOUND", "The object is gone.")
            return
        if faults.stale_link_once:
            faults.stale_link_once = False
            op.link += 1
        if query.get("link") != str(op.link):
            self.error(403, "PERMISSION_DENIED", "The signed URL has expired.")
            return
        data = sample_assets()["video"]
        self.send_response(200)
        self.send_header("content-type", "video/mp4")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
