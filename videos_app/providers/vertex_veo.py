"""Google Veo 3.1 on Vertex AI: long-running predictions, authorised by a service account.

``POST {base}/{model}:predictLongRunning`` makes a prediction and answers its operation's
name; ``POST {base}/{model}:fetchPredictOperation`` (a read, though a POST) says whether it
is ``done`` and then carries the video inline (the studio never sends ``storageUri``). A
video Veo made on this provider extends natively: its bytes go back as
``instances[0].video`` with the new prompt, 7 s a step at 720p.

httpx through ``VendorClient``, not ``google-genai``: the SDK (3.6.1) brings its own
transport (its httpx client, or google-auth's ``requests`` session under mTLS) and a
tenacity retry layer that, once turned on, retries any request on 408/429/5xx and
timeouts, creates included, never telling a create that was not sent from one that may
have arrived. The wire format is the SDK's (``models._GenerateVideosParameters_to_vertex``,
``operations._fetch_predict_videos_operation``).

Credentials: a service account's JSON key; ``google-auth`` signs the JWT-bearer grant sent
to the key's ``token_uri`` over a small httpx adapter (not ``requests``). ``api_key_file``
is the key file's path; or ``api_key_env`` names a variable holding the JSON itself or the
key file's absolute path (checked like any key file). The key is read on every call; its
access token is cached per key for the whole process until five minutes before it
expires, and dropped when Vertex answers 401. Neither is in any repr, message or log.

``row.base_url`` (required): ``https://{LOCATION}-aiplatform.googleapis.com/v1/projects/
{PROJECT}/locations/{LOCATION}/publishers/google/models``. ``Provider.options``:

- ``probe_model``: the model ``probe()`` asks about (default ``veo-3.1-generate-001``).
- ``person_generation``: sent as ``parameters.personGeneration`` (``allow_adult``,
  ``allow_all``, ``dont_allow``); unset: Vertex's default.

A job id is the operation's name less the row's ``projects/{P}/locations/{L}/publishers/
google/models/`` (``{model}/operations/{op}``: a full name can pass a job id's 128
characters). No list of operations (a lost create cannot be found again), no cancel
through this API (a cancelled job is abandoned), no webhooks (Vertex has Pub/Sub
instead), nothing to delete (Google keeps no copy outside Cloud Storage).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from google.auth import exceptions as auth_exceptions
from google.auth import transport
from google.oauth2 import service_account
from PIL import Image

from .base import OutcomeUnknown, ProviderError, RemoteGone, RemoteRequest, RemoteStatus
from .capabilities import Capabilities
from .http import Backoff, key_from, new_client, shared_client
from .vendor import MAX_VIDEO_BYTES, VendorClient, VendorHTTPError, VendorUnavailable, json_error

if TYPE_CHECKING:
    from .models import Provider as ProviderRow

logger = logging.getLogger(__name__)

STANDARD = "veo-3.1-generate-001"
FAST = "veo-3.1-fast-generate-001"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
TOKEN_MARGIN = 300.0  # seconds before a token's expiry when a fresh one is fetched
BASE_URL_SHAPE = (
    "https://{LOCATION}-aiplatform.googleapis.com/v1/projects/{PROJECT}/locations/"
    "{LOCATION}/publishers/google/models"
)

# 16:9 and 9:16 at 720p and 1080p; 4K on the standard model only (vendors.md 1b prices
# 4K for it alone).
HD_SIZES = ("1280x720", "720x1280", "1920x1080", "1080x1920")
SIZES_4K = (*HD_SIZES, "3840x2160", "2160x3840")
# Seeded from vendors.md 1b and Google's Veo 3.1 model page: 4, 6 or 8 s; first and last
# frame; up to three "asset" reference images (standard model only: the fast model's page
# lists none); negative prompt, seed, sound (on by default, can be turned off); native
# extension of a Veo-made video, 7 s a step at 720p. No edit and no remix on Vertex.
_STANDARD = Capabilities(
    sizes=SIZES_4K, seconds=(4, 6, 8), first_frame=True, last_frame=True, reference_images=3,
    audio=True, seed=True, negative_prompt=True, extend=True, extend_seconds=(7,),
    edit=False, remix=False,
)  # fmt: skip
MODELS: dict[str, Capabilities] = {
    STANDARD: _STANDARD,
    FAST: replace(_STANDARD, sizes=HD_SIZES, reference_images=0),
}
# List prices a second (vendors.md 1b), sound on as by default; the fast model's range
# ($0.10-0.12) at its top, so a budget never undercounts. A route's own prices replace these.
PRICES: dict[str, dict[str, Decimal]] = {
    STANDARD: {"*": Decimal("0.40"), "4k": Decimal("0.60")},
    FAST: {"*": Decimal("0.12")},
}
# Models on other engines that make what Veo on Vertex cannot.
ELSEWHERE = "Gemini Omni (gemini-omni-1.1-flash) or Runway (aleph2) can"
REFERENCE_SECONDS = 8  # reference images to video: 8 s, 16:9 only (Google's model page)
MAX_SEED = 2**32 - 1
GONE_STATUSES = (403, 404, 410)  # a result link that expired
# google.rpc.Code numbers (an operation's error carries only the number).
RPC_CODES = {
    1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}  # fmt: skip
# Words of Google's Responsible AI refusals ("...violate Google's Responsible AI
# practices...", "...sensitive words...", "...usage guidelines..."): a safety refusal.
POLICY_WORDS = ("responsible ai", "usage guidelines", "sensitive words", "safety", "prohibited")
_OPERATION = re.compile(r"(?:^|/models/)(?P<model>[^/]+)/operations/(?P<op>[^/]+)$")


# --- service account tokens ----------------------------------------------------------


@dataclass(frozen=True)
class _Response:  # what google-auth reads of an answer (``transport.Response``)
    status: int
    headers: Mapping[str, str]
    data: bytes


class HttpxRequest(transport.Request):
    """google-auth's HTTP hook over an httpx client (its own adapter needs ``requests``)."""

    def __init__(self, client: httpx.Client, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    def __call__(
        self, url: str, method: str = "GET", body: bytes | None = None,
        headers: Mapping[str, str] | None = None, timeout: float | None = None, **kwargs: Any,
    ) -> _Response:  # fmt: skip
        try:
            response = self.client.request(
                method, url, content=body, headers=dict(headers or {}),
                timeout=timeout or self.timeout,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise auth_exceptions.TransportError(type(exc).__name__) from None
        return _Response(response.status_code, response.headers, response.content)


@dataclass
class _Cached:
    credentials: service_account.Credentials
    lock: threading.Lock = field(default_factory=threading.Lock)
    fresh_until: float = 0.0  # time.monotonic()


# Tokens per key (by the key's digest): every engine in the process shares them.
_TOKENS: dict[str, _Cached] = {}
_TOKENS_LOCK = threading.Lock()


def forget_tokens() -> None:
    """Drop every cached token (tests; a key's rotation needs nothing: its digest changes)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


class ServiceAccountTokens:
    """Access tokens for the service account whose JSON key ``read_key`` returns."""

    def __init__(
        self, *, name: str, read_key: Callable[[], str], client: httpx.Client, timeout: float
    ) -> None:
        self.name = name
        self._read_key = read_key
        self._request = HttpxRequest(client, timeout)
        self._digest = ""

    def __repr__(self) -> str:
        return f"<ServiceAccountTokens {self.name}>"

    def token(self) -> str:
        """A valid access token, fetched only when the cached one is near its expiry."""
        entry = self._entry()
        with entry.lock:
            creds = entry.credentials
            if creds.token and time.monotonic() < entry.fresh_until:
                return str(creds.token)
            self._refresh(creds)
            # google-auth keeps a naive UTC expiry.
            now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
            lifetime = (creds.expiry - now).total_seconds() if creds.expiry else 3600.0
            entry.fresh_until = time.monotonic() + lifetime - TOKEN_MARGIN
            return str(creds.token)

    def current(self) -> str:
        """The cached token, without fetching one ("" when none): what to redact."""
        with _TOKENS_LOCK:
            entry = _TOKENS.get(self._digest)
        return str(entry.credentials.token or "") if entry is not None else ""

    def forget(self) -> None:
        """Vertex refused the token (revoked, or the key was disabled): fetch a new one."""
        with _TOKENS_LOCK:
            entry = _TOKENS.get(self._digest)
        if entry is not None:
            entry.fresh_until = 0.0

    def account(self) -> str:
        return str(self._entry().credentials.service_account_email)

    def _entry(self) -> _Cached:
        text = self._key_text()
        digest = hashlib.sha256(text.encode()).hexdigest()
        with _TOKENS_LOCK:
            entry = _TOKENS.get(digest)
            if entry is None:
                entry = _TOKENS[digest] = _Cached(self._credentials(text))
        self._digest = digest
        return entry

    def _key_text(self) -> str:
        text = self._read_key().strip()
        if text.startswith("/"):  # a variable naming the key file
            text = key_from(file=text)().strip()
        return text

    def _credentials(self, text: str) -> service_account.Credentials:
        # The key's own words never go into a message: only which field is missing.
        try:
            info = json.loads(text)
        except ValueError:
            info = None
        if not isinstance(info, dict) or info.get("type") != "service_account":
            raise ProviderError(
                "provider_misconfigured",
                f"The credentials of {self.name} are not a service account's JSON key; an "
                "operator must give the key file (or the JSON) of a service account.",
            )
        missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
        if missing:
            raise ProviderError(
                "provider_misconfigured",
                f"The service account key of {self.name} has no {', '.join(missing)}.",
            )
        try:
            return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        except (ValueError, TypeError, auth_exceptions.GoogleAuthError):
            logger.warning("the private key of %s's service account cannot be read", self.name)
            raise ProviderError(
                "provider_misconfigured",
                f"The private key in the service account key of {self.name} cannot be read.",
            ) from None

    def _refresh(self, creds: service_account.Credentials) -> None:
        try:
            creds.refresh(self._request)
        except auth_exceptions.RefreshError as exc:
            said = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
            data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
            code = str(data.get("error") or "token_refused")[:64]
            logger.warning("Google refused %s's token exchange: %s", self.name, code)
            raise ProviderError(
                code,
                f"The provider {self.name} did not accept the studio's service account key "
                f"for it (an operator must fix it): Google's token endpoint answered "
                f"{_redacted(said, creds) or 'a refusal'}",
            ) from None
        except auth_exceptions.TransportError as exc:
            raise VendorUnavailable(
                "upstream_unavailable",
                f"Google's token endpoint for {self.name} cannot be reached ({exc}).",
            ) from None


def _redacted(text: str, creds: service_account.Credentials) -> str:
    """A token endpoint's words, with the signed assertion or a token cut out."""
    text = re.sub(r"eyJ[\w-]+\.[\w-]+\.[\w-]*", "[redacted]", text)
    token = str(creds.token or "")
    return (text.replace(token, "[redacted]") if token else text)[:500]


# --- the engine ----------------------------------------------------------------------


def vertex_error(
    name: str, on_unauthorized: Callable[[], None]
) -> Callable[[httpx.Response], tuple[str, str]]:
    """Google's envelope ``{"error": {"code", "message", "status"}}``: its status word and
    message. A 403 says the service account may not do this; a 401 drops the token."""

    def read(response: httpx.Response) -> tuple[str, str]:
        code, message = json_error(response)
        if response.status_code == 401:
            on_unauthorized()
        if response.status_code == 403 and code == "PERMISSION_DENIED":
            message = (
                f"The studio's service account for {name} may not use Veo here (an operator "
                f"must grant it the Vertex AI User role on the project): {message}"
            )
        return code, message

    return read


class VertexVeoEngine:
    """Drives Veo predictions on Vertex AI. ``client`` may be injected (tests)."""

    kind = "vertex_veo"
    remote_variants = ("video",)  # the studio makes the thumbnail and spritesheet
    # Extend continues a Veo-made video of this provider; one made elsewhere is refused
    # (Vertex extends only videos Veo made), not stitched: the runner stitches only for
    # engines without native extension.
    native_extend = True

    def __init__(
        self,
        *,
        name: str,
        credentials: Callable[[], str],
        base_url: str,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        options: Mapping[str, Any] | None = None,
        client: httpx.Client | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.options = dict(options or {})
        self._owned: list[httpx.Client] = []
        if client is None:
            client = new_client(timeout, connect_timeout)
            self._owned.append(client)
        self.tokens = ServiceAccountTokens(
            name=name, read_key=credentials, client=client, timeout=timeout
        )
        self.http = VendorClient(
            name=name, base_url=self.base_url, headers=self._headers, client=client,
            backoff=backoff, sleep=sleep, error_of=vertex_error(name, self.tokens.forget),
            secret=self.tokens.current, credentials="service account key",
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: ProviderRow) -> VertexVeoEngine:
        return cls(
            name=row.name,
            credentials=key_from(env=row.api_key_env, file=row.api_key_file),
            base_url=row.base_url,
            timeout=row.timeout_seconds,
            connect_timeout=row.connect_timeout_seconds,
            options=row.options or {},
            client=shared_client(row.base_url, row.timeout_seconds, row.connect_timeout_seconds),
        )

    @classmethod
    def capabilities_for(cls, model: str) -> Capabilities:
        """The model's documented limits; an unknown (newer) Veo model gets the fast
        model's, the smaller set (an admin widens them per route)."""
        return MODELS.get(model, MODELS[FAST])

    @classmethod
    def prices_for(cls, model: str) -> dict[str, Decimal]:
        """The model's list prices (prices.py's table); none for an unknown model."""
        return dict(PRICES.get(model, {}))

    def __repr__(self) -> str:
        return f"<VertexVeoEngine {self.name} {self.base_url}>"

    def close(self) -> None:
        for client in self._owned:
            client.close()

    # --- the remote engine (base.RemoteEngine) -------------------------------------

    def check(self, request: RemoteRequest) -> None:
        self._validate(request)

    def submit(self, request: RemoteRequest) -> str:
        self._validate(request)
        data = self.http.json(
            "POST", f"/{request.model}:predictLongRunning", "create", json=self._body(request)
        )
        name = data.get("name")
        if not isinstance(name, str) or not _OPERATION.search(name):
            raise OutcomeUnknown(
                "upstream_outcome_unknown",
                f"The provider {self.name} answered the create without an operation name.",
            )
        return self._job_id(name)

    def status(self, job_id: str) -> RemoteStatus:
        return operation_status(job_id, self._read(job_id))

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        return []  # Vertex lists no prediction operations: a lost create cannot be found

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        if variant != "video":
            raise ProviderError("upstream_invalid_asset", f"{self.name} gives only the video.")
        # The operation is read again: its video is too big to keep from the last poll.
        video = video_of(self._read(job_id))
        try:
            return self._save(video, dest)
        except VendorHTTPError as exc:
            if exc.status not in GONE_STATUSES:
                raise
        fresh = video_of(self._read(job_id))  # a link that expired: a fresh one?
        if fresh is None or fresh == video:
            raise RemoteGone("upstream_assets_expired", f"{self.name} no longer has the video.")
        try:
            return self._save(fresh, dest)
        except VendorHTTPError as exc:
            if exc.status in GONE_STATUSES:
                raise RemoteGone(exc.code, exc.message) from None
            raise

    def delete(self, job_id: str) -> bool:
        return True  # the video came inline: Google keeps no copy to delete

    def probe(self) -> str:
        """A token exchange, then one authenticated read: the operation of a made-up id,
        which Vertex answers 404 (or 400) only once it has accepted the token."""
        parts = self._resource().split("/")
        account = self.tokens.account()
        model = str(self.options.get("probe_model") or STANDARD)
        answer = "an operation"
        try:
            self._read(f"{model}/operations/{uuid.uuid4()}", endpoint="probe")
        except RemoteGone as exc:
            answer = f"{exc.code} for a made-up operation"
        except VendorHTTPError as exc:
            if exc.status != 400:
                raise
            answer = f"{exc.code} for a made-up operation"
        return (
            f"{account} got a token; Vertex AI (project {parts[1]}, {parts[3]}) accepted it: "
            f"{model} answered {answer}"
        )

    # --- the request ---------------------------------------------------------------

    def _validate(self, request: RemoteRequest) -> None:
        """Refuse what the model cannot make, naming what it can, before anything is sent."""
        self._resource()
        model, op = request.model, request.operation
        caps = self.capabilities_for(model)
        if request.with_characters:
            raise ProviderError(
                "characters_unsupported",
                f"The provider {self.name} does not take characters; remove them or pick "
                "a model that runs on the local renderer.",
            )
        if op in ("edit", "remix"):
            raise ProviderError(
                "unsupported_operation", f"No Veo model on Vertex AI can {op} a video; {ELSEWHERE}."
            )
        if op not in ("create", "extend"):
            raise ProviderError("unsupported_operation", f"{self.name} cannot {op} a video.")
        if not caps.can(op):
            able = ", ".join(m for m, c in MODELS.items() if c.can(op))
            raise ProviderError(
                "unsupported_operation",
                f"The model {model} cannot {op} a video; models that can: {able}.",
            )
        if request.size not in caps.sizes:
            raise ProviderError(
                "unsupported_size",
                f"The model {model} makes {', '.join(caps.sizes)}; not {request.size}.",
            )
        if request.seed is not None and not 0 <= request.seed <= MAX_SEED:
            raise ProviderError(
                "unsupported_seed", f"Veo takes a seed from 0 to {MAX_SEED}; not {request.seed}."
            )
        if op == "extend":
            self._validate_extension(request, caps)
            return
        if request.seconds not in caps.seconds:
            raise ProviderError(
                "unsupported_seconds",
                f"The model {model} makes {', '.join(map(str, caps.seconds))} seconds; "
                f"not {request.seconds}.",
            )
        self._validate_images(request, caps)

    def _validate_images(self, request: RemoteRequest, caps: Capabilities) -> None:
        model, references = request.model, len(request.reference_images)
        if references > caps.reference_images:
            able = [m for m, c in MODELS.items() if c.reference_images >= references]
            raise ProviderError(
                "unsupported_reference_images",
                f"The model {model} takes up to {caps.reference_images} reference images"
                + (f"; {', '.join(able)} takes {references}." if able else "."),
            )
        if references and (request.reference_image or request.last_frame):
            raise ProviderError(
                "unsupported_inputs",
                f"The model {model} takes a first (and last) frame or reference images, not both.",
            )
        if references and (request.seconds != REFERENCE_SECONDS or request.aspect_ratio != "16:9"):
            raise ProviderError(
                "unsupported_inputs",
                f"The model {model} makes videos from reference images only at 16:9 and "
                f"{REFERENCE_SECONDS} seconds.",
            )
        if request.last_frame is not None and request.reference_image is None:
            raise ProviderError(
                "unsupported_inputs",
                f"The model {model} ends on a last frame only when it also starts from a "
                "first frame.",
            )

    def _validate_extension(self, request: RemoteRequest, caps: Capabilities) -> None:
        model = request.model
        if request.segment_seconds not in caps.extend_seconds:
            raise ProviderError(
                "unsupported_seconds",
                f"The model {model} extends by {', '.join(map(str, caps.extend_seconds))} "
                f"seconds a step; not {request.segment_seconds}.",
            )
        if request.resolution != "720p":
            raise ProviderError(
                "unsupported_size",
                f"The model {model} extends only 720p videos (1280x720 or 720x1280); "
                f"not {request.size}.",
            )
        if not request.source_id or request.source_upload is not None:
            raise ProviderError(
                "unsupported_source",
                f"Only videos Veo made on {self.name} extend natively on Vertex AI; this "
                "one was made elsewhere. Extend it with a model of the provider that made it.",
            )
        if request.source_file is None or not request.source_file.exists():
            raise ProviderError("source_missing", "The source video no longer exists.")

    def _body(self, request: RemoteRequest) -> dict[str, Any]:
        """The request as the SDK sends it: one instance, and its parameters."""
        instance: dict[str, Any] = {"prompt": request.prompt}
        seconds = request.seconds
        if request.operation == "extend":
            assert request.source_file is not None  # _validate saw it
            instance["video"] = {
                "bytesBase64Encoded": base64.b64encode(request.source_file.read_bytes()).decode(),
                "mimeType": "video/mp4",
            }
            seconds = request.segment_seconds
        else:
            if request.reference_image is not None:
                instance["image"] = _image(request.reference_image)
            if request.last_frame is not None:
                instance["lastFrame"] = _image(request.last_frame)
            if request.reference_images:
                instance["referenceImages"] = [
                    {"image": _image(p), "referenceType": "asset"} for p in request.reference_images
                ]
        parameters: dict[str, Any] = {
            "aspectRatio": request.aspect_ratio,
            "resolution": request.resolution,
            "durationSeconds": seconds,
            "sampleCount": 1,
            # Sound is on unless the request turns it off (Veo 3's default, said out loud).
            "generateAudio": request.audio is not False,
        }
        if request.negative_prompt:
            parameters["negativePrompt"] = request.negative_prompt
        if request.seed is not None:
            parameters["seed"] = request.seed
        if self.options.get("person_generation"):
            parameters["personGeneration"] = str(self.options["person_generation"])
        return {"instances": [instance], "parameters": parameters}

    # --- reads and downloads -------------------------------------------------------

    def _read(self, job_id: str, *, endpoint: str = "fetch") -> dict[str, Any]:
        """The operation, by ``fetchPredictOperation`` (a read: safe to send again)."""
        found = _OPERATION.search(job_id)
        if found is None:
            raise RemoteGone("upstream_job_missing", f"{job_id} is not a Veo operation.")
        try:
            return self.http.json(
                "POST", f"/{found['model']}:fetchPredictOperation", endpoint,
                json={"operationName": self._operation_name(job_id)}, idempotent=True,
            )  # fmt: skip
        except VendorHTTPError as exc:
            if exc.status == 404:
                raise RemoteGone(exc.code, exc.message) from None
            raise

    def _save(self, video: dict[str, Any] | None, dest: Path) -> int:
        """Write the video's bytes into ``dest`` (inline base64, or an https link)."""
        if video is None:
            raise RemoteGone("upstream_assets_expired", f"{self.name} gives no video for it.")
        if video.get("bytesBase64Encoded"):
            encoded = str(video["bytesBase64Encoded"])
            if len(encoded) * 3 // 4 > MAX_VIDEO_BYTES:
                raise ProviderError("upstream_invalid_asset", "The inline video is too large.")
            try:
                return dest.write_bytes(base64.b64decode(encoded, validate=True))
            except (binascii.Error, ValueError):
                raise ProviderError(
                    "upstream_invalid_asset", f"{self.name}'s inline video is not base64."
                ) from None
        uri = str(video.get("gcsUri") or "")
        if uri.startswith(("https://", "http://")):
            # A signed link: fetched without the token (it is for Vertex alone).
            return self.http.download(uri, dest, "video", authenticated=False)
        raise ProviderError(
            "upstream_invalid_asset",
            f"{self.name} put the video in Cloud Storage ({uri or 'no address'}), which the "
            "studio cannot read; it asks for the video inline (no storageUri).",
        )

    # --- plumbing ------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.token()}"}

    def _resource(self) -> str:
        """``projects/{P}/locations/{L}/publishers/google/models``, from the base URL."""
        parts = urlsplit(self.base_url).path.strip("/").split("/")
        if "projects" not in parts or parts[-3:] != ["publishers", "google", "models"]:
            raise ProviderError(
                "provider_misconfigured",
                f"The base URL of {self.name} must be {BASE_URL_SHAPE}.",
            )
        return "/".join(parts[parts.index("projects") :])

    def _job_id(self, name: str) -> str:
        """The operation's name, short: without the row's own resource prefix, or from
        ``/models/`` on when even the full name is longer than a job id may be."""
        prefix = self._resource() + "/"
        if name.startswith(prefix):
            return name[len(prefix) :]
        if len(name) <= 128:
            return name
        short = name[name.index("/models/") + len("/models/") :]
        logger.info("operation %s of %s is kept as %s", name, self.name, short)
        return short

    def _operation_name(self, job_id: str) -> str:
        return job_id if job_id.startswith("projects/") else f"{self._resource()}/{job_id}"


def _image(path: Path) -> dict[str, str]:
    with Image.open(path) as image:
        mime = Image.MIME.get(image.format or "", "image/png")
    return {"bytesBase64Encoded": base64.b64encode(path.read_bytes()).decode(), "mimeType": mime}


def video_of(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The operation's first video that has bytes or a link (None when none)."""
    response = data.get("response")
    if not isinstance(response, dict):
        return None
    for video in response.get("videos") or []:
        if isinstance(video, dict) and (video.get("bytesBase64Encoded") or video.get("gcsUri")):
            return video
    return None


def is_policy_message(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in POLICY_WORDS)


def operation_status(job_id: str, data: Mapping[str, Any]) -> RemoteStatus:
    """A prediction operation as the studio's status (vendors.md's status map)."""

    def failed(code: str, message: str) -> RemoteStatus:
        return RemoteStatus(
            id=job_id, status="failed", progress=100, error_code=code, error_message=message
        )

    if not data.get("done"):
        return RemoteStatus(id=job_id, status="in_progress", progress=0)
    error = data.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        number = error.get("code")
        word = RPC_CODES.get(number, "") if isinstance(number, int) else str(number or "")
        if is_policy_message(message):
            return failed("moderation_blocked", message)
        word = "cancelled" if word == "CANCELLED" else word
        return failed(word[:64] or "upstream_failed", message or "The Veo operation failed.")
    if video_of(data) is not None:
        return RemoteStatus(id=job_id, status="completed", progress=100)
    response = data.get("response")
    response = response if isinstance(response, dict) else {}
    reasons = [str(r) for r in response.get("raiMediaFilteredReasons") or [] if r]
    with contextlib.suppress(TypeError, ValueError):
        if reasons or int(response.get("raiMediaFilteredCount") or 0) > 0:
            # Filtered by Responsible AI: Google's reasons, as it gives them.
            said = " ".join(reasons) or "Vertex AI filtered the video (Responsible AI)."
            return failed("moderation_blocked", said)
    return failed("upstream_no_video", "The Veo operation finished without a video.")
