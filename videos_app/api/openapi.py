"""The OpenAPI 3.1 document of the studio's /v1 API, served at ``GET /v1/openapi.json``.

Written by hand next to the views; enums come from the catalog so they follow its
configuration. ``tests/test_api_openapi.py`` keeps it in sync with the URL patterns.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from videos_app.providers import catalog

from . import schemas

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


def _components(models: list[str]) -> Schema:
    seconds = [str(s) for s in catalog.SECONDS]
    prompt = {"type": "string", "minLength": 1, "maxLength": catalog.MAX_PROMPT_LENGTH}
    reference_object = {
        "type": "object",
        "description": "Exactly one of `file_id` (from /v1/files) or `image_url` (an https "
        "URL, fetched only where the studio allows it, or a base64 data URL).",
        "properties": {"file_id": {"type": "string"}, "image_url": {"type": "string"}},
        "additionalProperties": False,
    }
    video_ref_object = {
        "type": "object",
        "properties": {"id": {"type": "string"}},
        "required": ["id"],
        "additionalProperties": False,
    }
    binary = {"type": "string", "format": "binary"}
    source_id = {
        "type": "object",
        "description": "A completed video the key can see (`video_...`); the result keeps "
        "its model, size and seed.",
        "properties": {"id": {"type": "string"}},
        "required": ["id"],
        "additionalProperties": False,
    }
    source_upload = {
        **binary,
        "description": "An MP4 (decided from its content, not its name or type) of at most "
        f"{catalog.MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
    }
    # Multipart carries the source as a file part or as the bracket key `video[id]`.
    one_source = [{"required": ["video"]}, {"required": ["video[id]"]}]
    edit_model = {
        "type": "string",
        "enum": models,
        "default": catalog.DEFAULT_MODEL,
        "description": "For an uploaded source only; an edit of a video id keeps its model.",
    }
    extension_seconds = {
        "type": "string",
        "enum": [str(s) for s in catalog.EXTENSION_SECONDS],
        "description": "The new segment's length (a string). The result's `seconds` is the "
        f"stitched total, at most {catalog.MAX_TOTAL_SECONDS}.",
    }
    character_ids = {
        "type": "array",
        "maxItems": catalog.MAX_CHARACTERS,
        "description": "Characters to show, by id (`char_...`). Characters named in the prompt "
        f"are added too; at most {catalog.MAX_CHARACTERS} in all.",
        "items": video_ref_object,
    }
    team_slug = {
        "type": "string",
        "maxLength": 100,
        "description": "A studio extension: the slug of the team the video goes into (its "
        "members see it). Absent: the key user's first team they may create in; empty: no "
        "team (only the user and staff see it). A team the user cannot see answers 404, one "
        "they may not create in (a viewer) 403.",
    }
    private_flag = {
        "type": "boolean",
        "default": False,
        "description": "A studio extension: keep the video to its creator and staff even "
        "inside its team.",
    }
    return {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key `sk-studio-...` from /account/api-keys.",
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["message", "type", "param", "code"],
                        "properties": {
                            "message": {"type": "string"},
                            "type": {"type": "string"},
                            "param": {"type": ["string", "null"]},
                            "code": {"type": ["string", "null"]},
                        },
                    }
                },
            },
            "Video": {
                "type": "object",
                "required": [
                    "id",
                    "object",
                    "model",
                    "status",
                    "progress",
                    "created_at",
                    "completed_at",
                    "expires_at",
                    "prompt",
                    "size",
                    "seconds",
                    "remixed_from_video_id",
                    "error",
                ],
                "properties": {
                    "id": {"type": "string", "pattern": "^video_"},
                    "object": {"const": "video"},
                    "model": {"type": "string"},
                    "status": {
                        "type": "string",
                        "enum": ["queued", "in_progress", "completed", "failed"],
                    },
                    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                    "created_at": {"type": "integer"},
                    "completed_at": {"type": ["integer", "null"]},
                    "expires_at": {"type": ["integer", "null"]},
                    "prompt": {"type": "string"},
                    "size": {"type": "string"},
                    "seconds": {
                        "type": "string",
                        "description": 'A string, e.g. "4"; for an extension, the stitched total.',
                    },
                    "remixed_from_video_id": {"type": ["string", "null"]},
                    "error": _nullable(
                        {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    ),
                },
            },
            "VideoList": {
                "type": "object",
                "required": ["object", "data", "first_id", "last_id", "has_more"],
                "properties": {
                    "object": {"const": "list"},
                    "data": {"type": "array", "items": _ref("Video")},
                    "first_id": {"type": ["string", "null"]},
                    "last_id": {"type": ["string", "null"]},
                    "has_more": {"type": "boolean"},
                },
            },
            "VideoDeleted": {
                "type": "object",
                "required": ["id", "object", "deleted"],
                "properties": {
                    "id": {"type": "string"},
                    "object": {"const": "video.deleted"},
                    "deleted": {"const": True},
                },
            },
            "Character": {
                "type": "object",
                "required": ["id", "name", "created_at"],
                "properties": {
                    "id": {"type": "string", "pattern": "^char_"},
                    "name": {"type": "string"},
                    "created_at": {"type": "integer"},
                },
            },
            "File": {
                "type": "object",
                "required": [
                    "id",
                    "object",
                    "bytes",
                    "created_at",
                    "expires_at",
                    "filename",
                    "purpose",
                    "status",
                    "status_details",
                ],
                "properties": {
                    "id": {"type": "string", "pattern": "^file-"},
                    "object": {"const": "file"},
                    "bytes": {"type": "integer"},
                    "created_at": {"type": "integer"},
                    "expires_at": {"type": ["integer", "null"]},
                    "filename": {"type": "string"},
                    "purpose": {"type": "string", "enum": list(schemas.FILE_PURPOSES)},
                    "status": {"const": "processed"},
                    "status_details": {"type": "null"},
                },
            },
            "FileDeleted": {
                "type": "object",
                "required": ["id", "object", "deleted"],
                "properties": {
                    "id": {"type": "string"},
                    "object": {"const": "file"},
                    "deleted": {"const": True},
                },
            },
            "CreateVideoRequest": {
                "type": "object",
                "required": ["prompt"],
                "additionalProperties": False,
                "properties": {
                    "prompt": prompt,
                    "model": {"type": "string", "enum": models, "default": catalog.DEFAULT_MODEL},
                    "seconds": {
                        "type": "string",
                        "enum": seconds,
                        "default": str(catalog.DEFAULT_SECONDS),
                    },
                    "size": {
                        "type": "string",
                        "enum": list(catalog.SIZES),
                        "default": catalog.DEFAULT_SIZE,
                    },
                    "input_reference": reference_object,
                    "characters": character_ids,
                    "team": team_slug,
                    "private": private_flag,
                },
            },
            "CreateVideoMultipartRequest": {
                "type": "object",
                "required": ["prompt"],
                "additionalProperties": False,
                "description": "What the official SDK sends. Nested values arrive as "
                "bracket keys (`input_reference[file_id]`, `characters[][id]` once per "
                "character).",
                "properties": {
                    "prompt": prompt,
                    "model": {"type": "string", "enum": models},
                    "seconds": {"type": "string", "enum": seconds},
                    "size": {"type": "string", "enum": list(catalog.SIZES)},
                    "input_reference": {
                        **binary,
                        "description": "A JPEG, PNG or WebP image of exactly `size`.",
                    },
                    "input_reference[file_id]": {"type": "string"},
                    "input_reference[image_url]": {"type": "string"},
                    "characters[][id]": {
                        "type": "array",
                        "maxItems": catalog.MAX_CHARACTERS,
                        "items": {"type": "string"},
                        "description": "A character id (`char_...`), repeated per character.",
                    },
                    "team": team_slug,
                    "private": {"type": "string", "enum": ["true", "false"]},
                },
            },
            "RemixVideoRequest": {
                "type": "object",
                "required": ["prompt"],
                "additionalProperties": False,
                "properties": {"prompt": prompt},
            },
            "EditVideoRequest": {
                "type": "object",
                "required": ["prompt", "video"],
                "additionalProperties": False,
                "properties": {"prompt": prompt, "video": source_id, "model": edit_model},
            },
            "EditVideoMultipartRequest": {
                "type": "object",
                "required": ["prompt"],
                "oneOf": one_source,
                "additionalProperties": False,
                "description": "What the official SDK sends: the source as the file part "
                "`video`, or as `video[id]` (through `extra_body`).",
                "properties": {
                    "prompt": prompt,
                    "video": {
                        **source_upload,
                        "description": source_upload["description"]
                        + f" At most {catalog.MAX_EDIT_SECONDS} s.",
                    },
                    "video[id]": {"type": "string", "description": source_id["description"]},
                    "model": edit_model,
                },
            },
            "ExtendVideoRequest": {
                "type": "object",
                "required": ["prompt", "seconds", "video"],
                "additionalProperties": False,
                "properties": {"prompt": prompt, "seconds": extension_seconds, "video": source_id},
            },
            "ExtendVideoMultipartRequest": {
                "type": "object",
                "required": ["prompt", "seconds"],
                "oneOf": one_source,
                "additionalProperties": False,
                "description": "What the official SDK sends: the source as the file part "
                "`video`, or as `video[id]` (through `extra_body`).",
                "properties": {
                    "prompt": prompt,
                    "seconds": extension_seconds,
                    "video": source_upload,
                    "video[id]": {"type": "string", "description": source_id["description"]},
                },
            },
            "CreateCharacterRequest": {
                "type": "object",
                "required": ["name", "video"],
                "additionalProperties": False,
                "properties": {
                    "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": schemas.MAX_CHARACTER_NAME,
                    },
                    "video": {
                        **binary,
                        "description": "An MP4 clip of the character, "
                        f"{catalog.MIN_CHARACTER_SECONDS:g} to "
                        f"{catalog.MAX_CHARACTER_SECONDS:g} s (2 to 4 s works best), at most "
                        f"{catalog.MAX_CHARACTER_BYTES // (1024 * 1024)} MB.",
                    },
                },
            },
            "CreateFileRequest": {
                "type": "object",
                "required": ["file", "purpose"],
                "additionalProperties": False,
                "properties": {
                    "file": {**binary, "description": "A JPEG, PNG or WebP image."},
                    "purpose": {"type": "string", "enum": list(schemas.FILE_PURPOSES)},
                },
            },
        },
    }


def document(*, models: Iterable[str] | None = None) -> Schema:
    """The document; the model enum is the routing table's enabled names unless given.

    Built per request (the routing table is admin-edited, and the database must not be
    read at import time).
    """
    model_names = list(catalog.routes()) if models is None else list(models)
    video_id = _path_param("video_id", "A video id (`video_...`).")
    variant = {
        "name": "variant",
        "in": "query",
        "schema": {"type": "string", "enum": list(schemas.CONTENT_VARIANTS), "default": "video"},
    }
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
                    "parameters": [
                        {
                            "name": "after",
                            "in": "query",
                            "description": "A video id from the previous page (`last_id`); "
                            "an unknown id is a 400 with `param: after`.",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 0,
                                "maximum": schemas.LIST_MAX_LIMIT,
                                "default": schemas.LIST_DEFAULT_LIMIT,
                            },
                        },
                        {
                            "name": "order",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["asc", "desc"]},
                        },
                    ],
                    "responses": _responses(_json_response("A page.", _ref("VideoList"))),
                },
                "post": {
                    "operationId": "createVideo",
                    "summary": "Queue a new video.",
                    "requestBody": _body(
                        _ref("CreateVideoRequest"), _ref("CreateVideoMultipartRequest")
                    ),
                    "responses": _responses(video_ok, 403, 404, 413),
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
                    "parameters": [variant],
                    "responses": {
                        **_responses(
                            {
                                "description": "The raw bytes, with Content-Length.",
                                "headers": _REQUEST_ID,
                                "content": {
                                    media: {"schema": {"type": "string", "format": "binary"}}
                                    for media in ("video/mp4", "image/webp", "image/jpeg")
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
                    "parameters": [variant],
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
        "components": _components(model_names),
    }
