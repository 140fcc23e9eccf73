"""The OpenAPI 3.1 document of the studio's /v1 API, served at ``GET /v1/openapi.json``.

The components are generated from the ``contract`` models that parse the requests and
shape the responses; the operations (paths, statuses, summaries) are written here, next to
the URL patterns, and ``tests/test_api_openapi.py`` holds the two in step.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from videos_app.providers import catalog
from videos_app.providers.base import ASSET_VARIANTS

from . import contract
from .errors import Error
from .fields import BINARY, documented_models

JSON = "application/json"
MULTIPART = "multipart/form-data"

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


_REQUEST_ID = {
    "x-request-id": {
        "description": "A unique id for this request, on every response.",
        "required": True,
        "schema": {"type": "string"},
    }
}


def _json_response(description: str, schema: Schema, **headers: Schema) -> Schema:
    return {
        "description": description,
        "headers": {**_REQUEST_ID, **headers},
        "content": {JSON: {"schema": schema}},
    }


def _error(description: str) -> Schema:
    return _json_response(description, _ref("Error"))


def _responses(ok: Schema, *statuses: int, bad_request: str = "") -> Schema:
    descriptions = {
        400: "Invalid request (the message and `param` say what to change)." + bad_request,
        401: "Missing, unknown or revoked API key.",
        403: "The key's user may not do this.",
        404: "Unknown, or not visible to this key.",
        413: "The request body is too large.",
        429: "Rate limit reached; `retry-after` says when to try again.",
    }
    responses: Schema = {"200": ok}
    for status in (400, 401, *statuses, 429):
        responses[str(status)] = _error(descriptions[status])
    responses["429"]["headers"] = {
        **_REQUEST_ID,
        "retry-after": {"schema": {"type": "string"}, "description": "Seconds to wait."},
    }
    responses["default"] = _error("Any other error, in the same envelope.")
    return responses


def _path_param(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _body(json_schema: Schema, multipart_schema: Schema | None = None) -> Schema:
    content: Schema = {JSON: {"schema": json_schema}}
    if multipart_schema is not None:
        content[MULTIPART] = {"schema": multipart_schema}
    return {"required": True, "content": content}


# Request bodies: (component name, model, encodings). Multipart-only bodies carry a file
# part that JSON cannot.
_REQUESTS: tuple[tuple[str, type[BaseModel], tuple[str, ...]], ...] = (
    ("CreateVideo", contract.VideoCreate, (JSON, MULTIPART)),
    ("RemixVideo", contract.VideoRemix, (JSON, MULTIPART)),
    ("EditVideo", contract.VideoEdit, (JSON, MULTIPART)),
    ("ExtendVideo", contract.VideoExtend, (JSON, MULTIPART)),
    ("CreateCharacter", contract.CharacterCreate, (MULTIPART,)),
    ("CreateFile", contract.FileCreate, (MULTIPART,)),
)
_RESPONSES: tuple[type[BaseModel], ...] = (
    Error,
    contract.Video,
    contract.VideoCreated,
    contract.VideoList,
    contract.VideoDeleted,
    contract.Character,
    contract.File,
    contract.FileDeleted,
)
_MULTIPART_NOTE = (
    "What the official SDK sends. Nested values arrive as bracket keys "
    "(`input_reference[file_id]`, `video[id]`, `characters[][id]` once per item)."
)


def _request_name(name: str, encoding: str, encodings: tuple[str, ...]) -> str:
    both = len(encodings) > 1 and encoding == MULTIPART
    return f"{name}{'Multipart' if both else ''}Request"


@functools.lru_cache(maxsize=8)
def _components(models: tuple[str, ...]) -> Schema:
    """The schemas, generated from the contract's models (about 15 ms, so kept per model
    list)."""
    token = documented_models.set(models)
    try:
        return _generate_components()
    finally:
        documented_models.reset(token)


def _generate_components() -> Schema:
    _, answers = models_json_schema(
        [(model, "serialization") for model in _RESPONSES],
        ref_template="#/components/schemas/{model}",
    )
    schemas: Schema = {name: _clean(schema) for name, schema in answers["$defs"].items()}
    for name, model, encodings in _REQUESTS:
        schema = model.model_json_schema(mode="validation")
        body = _request(_inline(schema, schema.pop("$defs", {})))
        for encoding in encodings:
            if encoding == MULTIPART:
                variant = _multipart(body, also_json=JSON in encodings)
            else:
                variant = _json_only(body)
            schemas[_request_name(name, encoding, encodings)] = variant
    return {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key `sk-studio-...` from /account/api-keys.",
            }
        },
        "schemas": schemas,
    }


def _inline(node: Any, defs: Schema) -> Any:
    """Nested models written in place: each request schema stands on its own."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = defs[node["$ref"].rsplit("/", 1)[1]]
            return _inline({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _clean(node: Any, *, names: bool = False) -> Any:
    """No generated titles; descriptions on one line. ``names``: a properties map."""
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: Schema = {}
    for key, value in node.items():
        if not names and key == "title":
            continue
        if not names and key == "description" and isinstance(value, str):
            out[key] = " ".join(value.split())
        else:
            out[key] = _clean(value, names=not names and key == "properties")
    return out


def _request(node: Any) -> Any:
    """A request's null is an absent value: documented as the type alone."""
    if isinstance(node, list):
        return [_request(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = _clean(node)
    branches = node.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        outer = {k: v for k, v in node.items() if k != "anyOf"}
        node = {**rest[0], **outer} if len(rest) == 1 else {**outer, "anyOf": rest}
    if "default" in node and node["default"] is None:
        del node["default"]
    return {key: _request(value) for key, value in node.items()}


def _file_or_object(prop: Schema) -> Schema | None:
    """The object branch of a file-or-object field, else None."""
    branches = prop.get("oneOf") or []
    if BINARY in branches:
        return next(b for b in branches if b != BINARY)
    return None


def _json_only(body: Schema) -> Schema:
    """The JSON encoding: a file-or-object field is the object."""
    props: Schema = {}
    for name, prop in body["properties"].items():
        obj = _file_or_object(prop)
        if obj is not None:
            # The object's own description, where it has one, says more than the field's.
            outer = {k: v for k, v in prop.items() if k not in ("oneOf", "x-upload")}
            prop = {**outer, **obj}
        props[name] = prop
    return {**body, "properties": props}


def _multipart(body: Schema, *, also_json: bool) -> Schema:
    """The multipart encoding: every value a string or a file part, nested values as
    bracket keys; a required file-or-object field is one of its two forms."""
    props: Schema = {}
    required: list[str] = []
    one_of: list[Schema] = []
    for name, prop in body["properties"].items():
        needed = name in body.get("required", [])
        obj = _file_or_object(prop)
        description = {"description": prop["description"]} if "description" in prop else {}
        if obj is not None:
            props[name] = {**BINARY, **description}
            if prop.get("x-upload"):  # the object form is not documented
                required += [name] if needed else []
                continue
            props |= {f"{name}[{key}]": sub for key, sub in obj["properties"].items()}
            if needed:
                keys = [f"{name}[{key}]" for key in obj.get("required", [])]
                one_of = [{"required": [name]}, {"required": keys}]
        elif prop.get("type") == "array" and prop.get("items", {}).get("type") == "object":
            limits = {k: v for k, v in prop.items() if k in ("maxItems", "description")}
            for key, sub in prop["items"]["properties"].items():
                props[f"{name}[][{key}]"] = {"type": "array", "items": sub, **limits}
        elif prop.get("type") == "object":
            props |= {f"{name}[{key}]": sub for key, sub in prop["properties"].items()}
        elif prop.get("type") == "boolean":
            props[name] = {"type": "string", "enum": ["true", "false"], **description}
        else:
            props[name] = prop
            required += [name] if needed else []
    schema: Schema = {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": props,
    }
    if also_json:
        schema["description"] = _MULTIPART_NOTE
    return schema | ({"oneOf": one_of} if one_of else {})


def _query(model: type[BaseModel]) -> list[Schema]:
    """A query model's fields as the operation's parameters."""
    schema = _clean(model.model_json_schema(mode="validation"))
    parameters = []
    for name, prop in _request(schema)["properties"].items():
        description = {"description": prop.pop("description")} if "description" in prop else {}
        parameters.append({"name": name, "in": "query", **description, "schema": prop})
    return parameters


def document(*, models: Iterable[str] | None = None) -> Schema:
    """The document; the model enum is the routing table's enabled names unless given.

    Built per request (the routing table is admin-edited, and the database must not be
    read at import time).
    """
    model_names = list(catalog.routes()) if models is None else list(models)
    # A copy: a caller (schemathesis, say) may change the document it is given.
    components = copy.deepcopy(_components(tuple(model_names)))
    video_id = _path_param("video_id", "A video id (`video_...`).")
    variant = _query(contract.ContentQuery)
    video_ok = _json_response("The video.", _ref("Video"))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "studio Videos API",
            "version": "1",
            "description": "The Videos API of the retired upstream service, served by the "
            "studio: point the official SDK's `base_url` at `http://<studio>/v1`. Every "
            "response carries `x-request-id`; errors use one envelope.",
        },
        "servers": [{"url": "/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document (no key needed).",
                    "security": [],
                    "responses": {
                        "200": _json_response("The OpenAPI document.", {"type": "object"})
                    },
                }
            },
            "/videos": {
                "get": {
                    "operationId": "listVideos",
                    "summary": "List visible videos, newest first by default.",
                    "parameters": _query(contract.VideoListQuery),
                    "responses": _responses(_json_response("A page.", _ref("VideoList"))),
                },
                "post": {
                    "operationId": "createVideo",
                    "summary": "Queue a new video.",
                    "requestBody": _body(
                        _ref("CreateVideoRequest"), _ref("CreateVideoMultipartRequest")
                    ),
                    "responses": _responses(
                        _json_response("The video (the first take).", _ref("VideoCreated")),
                        403,
                        404,
                        413,
                    ),
                },
            },
            "/videos/{video_id}": {
                "parameters": [video_id],
                "get": {
                    "operationId": "retrieveVideo",
                    "summary": "A video's status and details.",
                    "responses": _responses(
                        _json_response(
                            "The video.",
                            _ref("Video"),
                            **{
                                "openai-poll-after-ms": {
                                    "description": "While queued or in progress: when to "
                                    "poll again.",
                                    "schema": {"type": "string"},
                                }
                            },
                        ),
                        404,
                    ),
                },
                "delete": {
                    "operationId": "deleteVideo",
                    "summary": "Delete a finished video and its files (400 while running).",
                    "responses": _responses(
                        _json_response("Deleted.", _ref("VideoDeleted")), 403, 404
                    ),
                },
            },
            "/videos/{video_id}/content": {
                "parameters": [video_id],
                "get": {
                    "operationId": "downloadVideoContent",
                    "summary": "The MP4, thumbnail or spritesheet (400 until completed).",
                    "parameters": variant,
                    "responses": {
                        **_responses(
                            {
                                "description": "The raw bytes, with Content-Length.",
                                "headers": _REQUEST_ID,
                                "content": {
                                    media: {"schema": {"type": "string", "format": "binary"}}
                                    for media in (v.content_type for v in ASSET_VARIANTS.values())
                                },
                            },
                            404,
                        ),
                        "206": {"description": "One byte range.", "headers": _REQUEST_ID},
                        "416": _error(
                            "The Range lies outside the file (`Content-Range` says its size)."
                        ),
                    },
                },
                "head": {
                    "operationId": "headVideoContent",
                    "summary": "The content's headers (type, Content-Length) without the bytes.",
                    "parameters": variant,
                    "responses": {
                        "200": {"description": "The headers alone.", "headers": _REQUEST_ID},
                        "404": _error("Unknown, or not visible to this key."),
                        "default": _error("Any other error (headers only)."),
                    },
                },
            },
            "/videos/{video_id}/remix": {
                "parameters": [video_id],
                "post": {
                    "operationId": "remixVideo",
                    "summary": "Remix a completed video with a new prompt.",
                    "description": "A new job that keeps the source's model, size, duration, "
                    "seed, reference image and characters; its `remixed_from_video_id` names "
                    "the source.",
                    "requestBody": _body(_ref("RemixVideoRequest"), _ref("RemixVideoRequest")),
                    "responses": _responses(
                        video_ok,
                        404,
                        413,
                        bad_request=" Also when the source is not completed "
                        "(`video_not_completed`; 400, not 409, so the SDK does not retry).",
                    ),
                },
            },
            "/videos/{video_id}/cancel": {
                "parameters": [video_id],
                "post": {
                    "operationId": "cancelVideo",
                    "summary": "Cancel a queued or in-progress video (a studio extension).",
                    "description": "Stops the job: a local render is killed, a remote one is "
                    "cancelled at its provider where the provider can cancel, otherwise "
                    "abandoned. The answer is the video, now `failed` with error code "
                    "`cancelled` (the status has no fourth value); cancelling it again "
                    "answers the same. Its creator, its team's admins and staff may cancel.",
                    "responses": _responses(
                        video_ok,
                        403,
                        404,
                        bad_request=" Also when the video has already completed or failed "
                        "(`video_not_active`).",
                    ),
                },
            },
            "/videos/edits": {
                "post": {
                    "operationId": "editVideo",
                    "summary": "Edit a video: a new job of the same length and size.",
                    "description": "The source is a completed video (`video.id`) or an "
                    "uploaded MP4 (`video` as a file).",
                    "requestBody": _body(
                        _ref("EditVideoRequest"), _ref("EditVideoMultipartRequest")
                    ),
                    "responses": _responses(
                        video_ok,
                        404,
                        413,
                        bad_request=" Also, with `param: video`, when the source is not "
                        "completed or the upload is not a decodable MP4 within the limits.",
                    ),
                }
            },
            "/videos/extensions": {
                "post": {
                    "operationId": "extendVideo",
                    "summary": "Extend a video by a new segment; `seconds` of the result is "
                    "the total.",
                    "description": "The source is a completed video (`video.id`) or an "
                    f"uploaded MP4 (`video` as a file). A chain allows at most "
                    f"{catalog.MAX_EXTENSIONS} extensions and {catalog.MAX_TOTAL_SECONDS} s.",
                    "requestBody": _body(
                        _ref("ExtendVideoRequest"), _ref("ExtendVideoMultipartRequest")
                    ),
                    "responses": _responses(
                        video_ok,
                        404,
                        413,
                        bad_request=" Also (`code: extension_limit`) when the chain has "
                        f"{catalog.MAX_EXTENSIONS} extensions already (`param: video`) or would "
                        f"pass {catalog.MAX_TOTAL_SECONDS} s (`param: seconds`), and, with "
                        "`param: video`, when the source is not completed or the upload is "
                        "not a decodable MP4.",
                    ),
                }
            },
            "/videos/characters": {
                "post": {
                    "operationId": "createCharacter",
                    "summary": "Make a character from a short clip.",
                    "description": "Multipart only: the clip is a file part, which JSON "
                    "cannot carry. Use the character with `characters` on `POST /videos`, or "
                    "by naming it in the prompt.",
                    "requestBody": {
                        "required": True,
                        "content": {MULTIPART: {"schema": _ref("CreateCharacterRequest")}},
                    },
                    "responses": _responses(
                        _json_response("The character.", _ref("Character")),
                        413,
                        bad_request=" Also, with `param: video`, when the clip is not a "
                        "decodable MP4 or is too short, too long or too large.",
                    ),
                }
            },
            "/videos/characters/{character_id}": {
                "parameters": [_path_param("character_id", "A character id (`char_...`).")],
                "get": {
                    "operationId": "getCharacter",
                    "summary": "A character.",
                    "responses": _responses(
                        _json_response("The character.", _ref("Character")), 404
                    ),
                },
            },
            "/files": {
                "post": {
                    "operationId": "createFile",
                    "summary": "Upload an image for `input_reference.file_id`.",
                    "requestBody": {
                        "required": True,
                        "content": {MULTIPART: {"schema": _ref("CreateFileRequest")}},
                    },
                    "responses": _responses(_json_response("The file.", _ref("File")), 413),
                }
            },
            "/files/{file_id}": {
                "parameters": [_path_param("file_id", "A file id (`file-...`).")],
                "get": {
                    "operationId": "retrieveFile",
                    "summary": "An uploaded file's details.",
                    "responses": _responses(_json_response("The file.", _ref("File")), 404),
                },
                "delete": {
                    "operationId": "deleteFile",
                    "summary": "Delete an uploaded file.",
                    "responses": _responses(_json_response("Deleted.", _ref("FileDeleted")), 404),
                },
            },
        },
        "components": components,
    }
