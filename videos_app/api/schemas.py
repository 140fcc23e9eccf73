"""What each endpoint accepts: parsed params in, typed values out, or ApiError(400).

Messages follow the upstream service (``Invalid value: '1080x1080'. Supported values
are: ...``, ``Unknown parameter: 'width'.``) with ``param`` naming the field. Which models,
sizes and durations exist is the routing table's to say: the checks read
``catalog.route()`` when they run, so the pages and the API accept the same values and an
admin's change applies to the next request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import ProhibitNullCharactersValidator

from videos_app.providers import catalog

from .errors import (
    ApiError,
    from_validation_error,
    invalid_type,
    invalid_value,
    missing_parameter,
    unknown_parameter,
)
from .parsing import Params

MAX_CHARACTER_NAME = 80
LIST_MAX_LIMIT = 100
LIST_DEFAULT_LIMIT = 20
CONTENT_VARIANTS = ("video", "thumbnail", "spritesheet")
FILE_PURPOSES = ("vision", "user_data")
FILE_EXPIRY_SECONDS = (3600, 30 * 24 * 3600)  # the bounds upstream allowed


@dataclass(frozen=True)
class ImageReference:
    """One of: an uploaded file, a URL (https or data:), or a /v1/files id."""

    upload: UploadedFile | None = None
    image_url: str | None = None
    file_id: str | None = None


@dataclass(frozen=True)
class VideoRef:
    """A source video for edits and extensions: an uploaded MP4 or a video id."""

    upload: UploadedFile | None = None
    video_id: str | None = None


@dataclass(frozen=True)
class VideoCreateParams:
    prompt: str
    model: str
    size: str
    seconds: int
    input_reference: ImageReference | None
    character_ids: list[str]
    # A studio extension: the slug of the team the video goes into; "" for none (only
    # the creator and staff see it); None (absent) for the key's default team.
    team: str | None = None
    private: bool = False


@dataclass(frozen=True)
class VideoListParams:
    after: str | None
    limit: int
    order: Literal["asc", "desc"]


@dataclass(frozen=True)
class VideoRemixParams:
    prompt: str


@dataclass(frozen=True)
class VideoEditParams:
    prompt: str
    video: VideoRef
    model: str | None


@dataclass(frozen=True)
class VideoExtendParams:
    prompt: str
    seconds: int
    video: VideoRef


@dataclass(frozen=True)
class CharacterCreateParams:
    name: str
    video: VideoRef


@dataclass(frozen=True)
class FileCreateParams:
    file: UploadedFile
    purpose: str
    expires_after_seconds: int | None


# --- building blocks ------------------------------------------------------------------


def reject_unknown(params: Mapping[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    known = set(allowed)
    for name in params:
        if name not in known:
            raise unknown_parameter(f"{prefix}{name}")


def string_param(
    params: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    max_length: int | None = None,
    strip: bool = False,
    label: str | None = None,
) -> str | None:
    """A string parameter (null counts as absent); ``label`` is its dotted name in messages."""
    label = label or name
    value = params.get(name)
    if value is None:
        if required:
            raise missing_parameter(label)
        return None
    if not isinstance(value, str):
        raise invalid_type(label, "a string", value)
    if "\x00" in value:
        raise ApiError(
            400,
            f"Invalid '{label}': {ProhibitNullCharactersValidator.message}",
            param=label,
            code="invalid_value",
        )
    if strip:
        value = value.strip()
    if required and not value:
        raise ApiError(
            400,
            f"Invalid '{label}': empty string. Expected a string with minimum length 1, "
            "but got an empty string instead.",
            param=label,
            code="empty_string",
        )
    if max_length is not None and len(value) > max_length:
        raise ApiError(
            400,
            f"Invalid '{label}': string too long. Expected a string with maximum length "
            f"{max_length}, but got a string with length {len(value)} instead.",
            param=label,
            code="string_above_max_length",
        )
    return value


def choice_param(
    params: Mapping[str, Any], name: str, choices: Iterable[str], *, default: str
) -> str:
    options = list(choices)
    value = string_param(params, name)
    if value is None:
        return default
    if value not in options:
        raise invalid_value(name, value, options)
    return value


def prompt_param(params: Mapping[str, Any]) -> str:
    # Stripped, like the page form's prompt field.
    value = string_param(
        params, "prompt", required=True, max_length=catalog.MAX_PROMPT_LENGTH, strip=True
    )
    assert value is not None
    return value


def seconds_param(
    params: Mapping[str, Any], supported: Iterable[int], *, default: int | None
) -> int:
    """``seconds`` is a string on the wire ("4"); a JSON number is a type error, as upstream."""
    options = [str(s) for s in supported]
    value = params.get("seconds")
    if value is None:
        if default is None:
            raise missing_parameter("seconds")
        return default
    if not isinstance(value, str):
        raise invalid_type("seconds", f"one of {_or_list(options)}", value)
    if value not in options:
        raise invalid_value("seconds", value, options)
    return int(value)


def _or_list(values: list[str]) -> str:
    items = [f"'{value}'" for value in values]
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


def model_route(params: Mapping[str, Any], *, default: str | None) -> catalog.Route | None:
    """The route of ``model`` (or of the default): unknown or turned off is a 400."""
    name = string_param(params, "model")
    if name is None and default is None:
        return None
    try:
        return catalog.route(name if name is not None else str(default))
    except catalog.ModelUnavailable as exc:
        raise from_validation_error(exc) from None


def image_reference(params: Mapping[str, Any]) -> ImageReference | None:
    value = params.get("input_reference")
    if value is None:
        return None
    if isinstance(value, UploadedFile):
        return ImageReference(upload=value)
    if not isinstance(value, dict):
        raise invalid_type("input_reference", "a file or an object", value)
    reject_unknown(value, ("file_id", "image_url"), prefix="input_reference.")
    file_id = string_param(value, "file_id", label="input_reference.file_id")
    image_url = string_param(value, "image_url", label="input_reference.image_url")
    if (file_id is None) == (image_url is None):
        raise ApiError(
            400,
            "Invalid 'input_reference': provide exactly one of 'file_id' or 'image_url'.",
            param="input_reference",
            code="invalid_value",
        )
    return ImageReference(file_id=file_id, image_url=image_url)


def id_list(params: Mapping[str, Any], name: str, *, max_items: int) -> list[str]:
    """``[{"id": ...}, ...]`` (``name[][id]`` in multipart) as a list of ids."""
    value = params.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid_type(name, "an array of objects", value)
    if len(value) > max_items:
        raise ApiError(
            400,
            f"Invalid '{name}': array too long. Expected an array with maximum length "
            f"{max_items}, but got an array with length {len(value)} instead.",
            param=name,
            code="array_above_max_length",
        )
    ids = []
    for index, item in enumerate(value):
        label = f"{name}[{index}]"
        if not isinstance(item, dict):
            raise invalid_type(label, "an object", item)
        reject_unknown(item, ("id",), prefix=f"{label}.")
        item_id = string_param(item, "id", required=True, label=f"{label}.id")
        assert item_id is not None
        ids.append(item_id)
    return ids


def video_ref(params: Mapping[str, Any]) -> VideoRef:
    value = params.get("video")
    if value is None:
        raise missing_parameter("video")
    if isinstance(value, UploadedFile):
        return VideoRef(upload=value)
    if not isinstance(value, dict):
        raise invalid_type("video", "a file or an object", value)
    reject_unknown(value, ("id",), prefix="video.")
    video_id = string_param(value, "id", required=True, label="video.id")
    assert video_id is not None
    return VideoRef(video_id=video_id)


# --- per endpoint ---------------------------------------------------------------------


def video_create(params: Params) -> VideoCreateParams:
    reject_unknown(
        params,
        ("prompt", "model", "seconds", "size", "input_reference", "characters", "team", "private"),
    )
    prompt = prompt_param(params)
    route = model_route(params, default=catalog.DEFAULT_MODEL)
    assert route is not None
    # A documented value the model's route leaves out says it is the model (the OpenAPI
    # document lists every size and duration).
    size = choice_param(params, "size", catalog.SIZES, default=catalog.DEFAULT_SIZE)
    seconds = seconds_param(params, catalog.SECONDS, default=catalog.DEFAULT_SECONDS)
    try:
        route.check(size=size, seconds=seconds)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    return VideoCreateParams(
        prompt=prompt,
        model=route.name,
        size=size,
        seconds=seconds,
        input_reference=image_reference(params),
        character_ids=id_list(params, "characters", max_items=catalog.MAX_CHARACTERS),
        team=string_param(params, "team", max_length=100, strip=True),
        private=bool_param(params, "private"),
    )


def bool_param(params: Mapping[str, Any], name: str) -> bool:
    """A boolean: JSON true/false, or "true"/"false" in a form (absent: false)."""
    value = params.get(name)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_type(name, "a boolean", value)


def video_list(query: Mapping[str, str]) -> VideoListParams:
    """Query parameters of ``GET /videos``; unknown ones are ignored, as upstream."""
    after = query.get("after") or None
    raw_limit = query.get("limit")
    limit = LIST_DEFAULT_LIMIT
    if raw_limit not in (None, ""):
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = -1
        if not 0 <= limit <= LIST_MAX_LIMIT:
            raise ApiError(
                400,
                f"Invalid 'limit': expected an integer between 0 and {LIST_MAX_LIMIT}, "
                f"but got '{raw_limit}' instead.",
                param="limit",
                code="invalid_value",
            )
    order = choice_param(query, "order", ("asc", "desc"), default="desc")
    return VideoListParams(after=after, limit=limit, order="asc" if order == "asc" else "desc")


def content_variant(query: Mapping[str, str]) -> str:
    return choice_param(query, "variant", CONTENT_VARIANTS, default="video")


def video_remix(params: Params) -> VideoRemixParams:
    reject_unknown(params, ("prompt",))
    return VideoRemixParams(prompt=prompt_param(params))


def video_edit(params: Params) -> VideoEditParams:
    reject_unknown(params, ("prompt", "video", "model"))
    prompt = prompt_param(params)
    video = video_ref(params)
    route = model_route(params, default=None)
    return VideoEditParams(prompt=prompt, video=video, model=route.name if route else None)


def video_extend(params: Params) -> VideoExtendParams:
    reject_unknown(params, ("prompt", "seconds", "video"))
    prompt = prompt_param(params)
    seconds = seconds_param(params, catalog.EXTENSION_SECONDS, default=None)
    return VideoExtendParams(prompt=prompt, seconds=seconds, video=video_ref(params))


def character_create(params: Params) -> CharacterCreateParams:
    reject_unknown(params, ("name", "video"))
    name = string_param(params, "name", required=True, max_length=MAX_CHARACTER_NAME, strip=True)
    assert name is not None
    return CharacterCreateParams(name=name, video=video_ref(params))


def file_create(params: Params) -> FileCreateParams:
    reject_unknown(params, ("file", "purpose", "expires_after"))
    upload = params.get("file")
    if upload is None:
        raise missing_parameter("file")
    if not isinstance(upload, UploadedFile):
        raise invalid_type("file", "a file", upload)
    purpose = string_param(params, "purpose", required=True)
    assert purpose is not None
    if purpose not in FILE_PURPOSES:
        raise invalid_value("purpose", purpose, FILE_PURPOSES)
    return FileCreateParams(
        file=upload, purpose=purpose, expires_after_seconds=_expires_after(params)
    )


def _expires_after(params: Params) -> int | None:
    """``expires_after: {"anchor": "created_at", "seconds": N}``; None keeps the file."""
    value = params.get("expires_after")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_type("expires_after", "an object", value)
    reject_unknown(value, ("anchor", "seconds"), prefix="expires_after.")
    anchor = string_param(value, "anchor", required=True, label="expires_after.anchor")
    if anchor != "created_at":
        raise invalid_value("expires_after.anchor", anchor, ("created_at",))
    seconds = value.get("seconds")
    if isinstance(seconds, str) and seconds.isdigit():
        seconds = int(seconds)  # multipart sends every value as text
    if seconds is None:
        raise missing_parameter("expires_after.seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise invalid_type("expires_after.seconds", "an integer", seconds)
    low, high = FILE_EXPIRY_SECONDS
    if not low <= seconds <= high:
        raise ApiError(
            400,
            f"Invalid 'expires_after.seconds': expected an integer between {low} and "
            f"{high}, but got {seconds} instead.",
            param="expires_after.seconds",
            code="invalid_value",
        )
    return seconds
