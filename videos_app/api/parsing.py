"""Request bodies, whatever their encoding, as one nested dict.

The official SDK sends multipart for create (and edits, extensions, characters), with
nested values as bracket keys (``input_reference[file_id]``, ``characters[][id]``);
older clients, curl and Batch lines send JSON. Both come out the same here, so the
schemas see one shape. Multipart values stay strings and uploads stay ``UploadedFile``;
JSON values keep their JSON types (which is how ``seconds: 4`` is told from ``"4"``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser, MultiPartParserError

from videos_app.providers import catalog

from .errors import ApiError

Params = dict[str, Any]

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# The SDK's keys nest two deep (``characters[][id]``); a key nested thousands deep cost
# seconds of CPU and ended in a RecursionError.
MAX_KEY_DEPTH = 8


def max_body_bytes(content_type: str = "application/json") -> int:
    """The largest body an API POST may have.

    JSON is read into memory: room for an image as base64 plus the rest. A form streams
    its files to disk, so it may carry the largest video upload (edits, extensions); each
    endpoint then holds its own file to its own, smaller, limit.
    """
    json_limit = int(settings.STUDIO_MAX_IMAGE_BYTES * 4 / 3) + 1024 * 1024
    if content_type in FORM_TYPES:
        return max(json_limit, catalog.MAX_UPLOAD_BYTES + 1024 * 1024)
    return json_limit


def request_params(request: HttpRequest) -> Params:
    """The body of a POST as a nested dict, or ApiError(400/413)."""
    length = _content_length(request)
    content_type = request.content_type or ""
    if length > max_body_bytes(content_type):
        raise ApiError(413, "The request body is too large.", code="request_too_large")
    if content_type == "application/json":
        return _json_params(request)
    if content_type in FORM_TYPES:
        return _form_params(request)
    if length == 0:
        return {}
    raise ApiError(
        400,
        f"Unsupported content type: '{content_type}'. Send application/json or "
        "multipart/form-data.",
        code="unsupported_content_type",
    )


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _json_params(request: HttpRequest) -> Params:
    # Read the stream directly: request.body would apply DATA_UPLOAD_MAX_MEMORY_SIZE, which
    # is smaller than a base64 data URL of a full-size reference image.
    limit = max_body_bytes()
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise ApiError(413, "The request body is too large.", code="request_too_large")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. The API expects a JSON "
            "payload (or multipart/form-data), but what was sent was not valid JSON.",
            code="invalid_json",
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            400,
            "Invalid body: expected a JSON object at the top level.",
            code="invalid_json",
        )
    return data


def _form_params(request: HttpRequest) -> Params:
    items: list[tuple[str, Any]] = []
    try:
        if request.content_type == "multipart/form-data":
            post, files = _multipart(request)
        else:
            post, files = request.POST, request.FILES
        for key, values in post.lists():
            items.extend((key, value) for value in values)
        for key, uploads in files.lists():
            items.extend((key, upload) for upload in uploads)
    except MultiPartParserError as error:
        raise ApiError(
            400, f"The multipart body could not be parsed: {error}", code="invalid_multipart"
        ) from None
    return nest(items)


class _TailRecorder:
    """A request stream that remembers the last bytes read from it."""

    KEEP = 512

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.tail = b""

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = self.request.read(size)
        self.tail = (self.tail + chunk)[-self.KEEP :]
        return chunk


def _multipart(request: HttpRequest) -> tuple[Any, Any]:
    """Django's multipart parser, refusing a body cut off before its closing boundary.

    Django's parser takes whatever parts arrived and ignores a missing end, so a
    truncated upload (a dropped connection, a client bug) was accepted as complete.
    """
    boundary = (request.content_params or {}).get("boundary", "").encode("ascii", "replace")
    recorder = _TailRecorder(request)
    # The parser only ever calls read() on its input (in chunks).
    parser = MultiPartParser(
        request.META, cast(Any, recorder), request.upload_handlers, request.encoding
    )
    post, files = parser.parse()
    # RFC 2046: the close delimiter, optionally followed by an epilogue (kept short here).
    if boundary and b"--" + boundary + b"--" not in recorder.tail:
        for _key, uploads in files.lists():
            for upload in uploads:
                upload.close()
        raise MultiPartParserError("it ends before its closing boundary")
    return post, files


def nest(items: Iterable[tuple[str, Any]]) -> Params:
    """Bracket keys to a nested dict: ``a[b]`` → {"a": {"b"}}, ``a[][b]`` → {"a": [{"b"}]}.

    A repeated ``a[][b]`` starts a new element, as the SDK repeats them; a repeated plain
    key becomes a list, which the schema then refuses with a type error.
    """
    root: Params = {}
    for key, value in items:
        if key.count("[") >= MAX_KEY_DEPTH:
            raise ApiError(
                400,
                f"Invalid parameter name '{key[:60]}…': it nests more than "
                f"{MAX_KEY_DEPTH} levels deep.",
                code="invalid_parameter",
            )
        match = _KEY_RE.match(key)
        path = [match.group(1), *_SEGMENT_RE.findall(match.group(2))] if match else [key]
        _insert(root, path, value)
    return root


def _insert(node: dict[str, Any] | list[Any], path: list[str], value: Any) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        if isinstance(node, list):
            node.append(value)
        elif head in node:
            existing = node[head]
            node[head] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            node[head] = value
        return
    wanted: type = list if rest[0] == "" else dict
    child: Any
    if isinstance(node, list):
        last = node[-1] if node else None
        if wanted is dict and isinstance(last, dict) and rest[0] not in last:
            child = last
        else:
            child = wanted()
            node.append(child)
    else:
        child = node.get(head)
        if not isinstance(child, wanted):
            child = wanted()
            node[head] = child
    _insert(child, rest, value)
