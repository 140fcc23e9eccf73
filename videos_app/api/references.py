"""``input_reference`` in any of its forms, turned into the PNG bytes ``video_create`` takes.

Every form ends in ``images.reference_image_prepare``, the one rule for reference images:
type from the content, size and pixel caps, and an exact match with the video's size.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import IO

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from videos_app.images import reference_image_any, reference_image_prepare
from videos_app.providers import catalog

from . import fetch
from .contract import ImageReference
from .errors import ApiError
from .files import api_file_get
from .models import ApiFile

PARAM = "input_reference"

# The image rule's codes, as the API names them.
_CODES = {
    "too_large": "image_too_large",
    "too_many_pixels": "image_too_large",
    "wrong_size": "image_size_mismatch",
}


def reference_png(
    ref: UploadedFile | ImageReference, *, user: User, size: str, fit: bool = False
) -> bytes:
    """PNG bytes of exactly ``size``, or ApiError(400, param="input_reference").

    ``fit`` (the ``input_reference_fit`` extension) crops an image of other dimensions to
    the size; without it one must match exactly, as the retired service required."""
    width, height = catalog.parse_size(size)
    source = _open(ref, user=user)
    try:
        return reference_image_prepare(source, width=width, height=height, fit=fit)
    except ValidationError as exc:
        raise ApiError(400, _message(exc), param=PARAM, code=_code(exc)) from None
    finally:
        source.close()


def any_png(ref: UploadedFile | ImageReference, *, user: User) -> bytes:
    """A ``reference_images`` entry as PNG bytes of any size (scaled down past a bound),
    or ApiError(400, param="input_reference") for the caller to rename."""
    source = _open(ref, user=user)
    try:
        return reference_image_any(source)
    except ValidationError as exc:
        raise ApiError(400, _message(exc), param=PARAM, code=_code(exc)) from None
    finally:
        source.close()


def renamed(exc: ApiError, param: str) -> ApiError:
    """``exc`` about ``param`` instead of ``input_reference`` (the same rules, another field)."""
    return ApiError(exc.status, exc.message.replace(PARAM, param), param=param, code=exc.code)


def _open(ref: UploadedFile | ImageReference, *, user: User) -> IO[bytes]:
    if isinstance(ref, UploadedFile):
        return ref
    if ref.file_id is not None:
        try:
            api_file = api_file_get(user=user, file_id=ref.file_id)
            return api_file.content.open("rb")
        except (ApiFile.DoesNotExist, FileNotFoundError):
            # Deleted, possibly at this very moment (the row read, then its content
            # removed), or its stored content gone: either way there is no such file.
            raise ApiError(
                400,
                f"Invalid 'input_reference.file_id': no file with id '{ref.file_id}'.",
                param=PARAM,
                code="invalid_value",
            ) from None
    url = ref.image_url or ""
    if url[:5].lower() == "data:":
        return io.BytesIO(data_url_bytes(url))
    if url[:8].lower() == "https://" or url[:7].lower() == "http://":
        if not fetch.fetch_enabled():
            raise ApiError(
                400,
                "Fetching image URLs is turned off on this studio. Send the image as a file, "
                "a base64 data URL, or a file_id from /v1/files.",
                param=PARAM,
                code="image_url_fetch_disabled",
            )
        try:
            data = fetch.image_url_fetch(url, max_bytes=settings.STUDIO_MAX_IMAGE_BYTES)
        except fetch.FetchError as exc:
            raise ApiError(400, str(exc), param=PARAM, code="invalid_image_url") from None
        return io.BytesIO(data)
    raise ApiError(
        400,
        "Invalid 'input_reference.image_url': expected an https URL or a base64 data URL.",
        param=PARAM,
        code="invalid_value",
    )


def data_url_bytes(url: str) -> bytes:
    """The bytes of a ``data:<type>;base64,<data>`` URL (its declared type is ignored)."""
    header, sep, payload = url.partition(",")
    if not sep or not header.lower().endswith(";base64"):
        raise ApiError(
            400,
            "Invalid 'input_reference.image_url': a data URL must be base64-encoded "
            "(data:image/png;base64,...).",
            param=PARAM,
            code="invalid_value",
        )
    payload = "".join(payload.split())
    max_bytes = settings.STUDIO_MAX_IMAGE_BYTES
    if len(payload) > (max_bytes + 2) // 3 * 4:
        raise ApiError(
            400,
            f"The image is larger than {max_bytes // (1024 * 1024)} MB.",
            param=PARAM,
            code="image_too_large",
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            400,
            "Invalid 'input_reference.image_url': the data URL is not valid base64.",
            param=PARAM,
            code="invalid_value",
        ) from None


def _code(exc: ValidationError) -> str:
    return _CODES.get(exc.code or "", "invalid_image")


def _message(exc: ValidationError) -> str:
    message = " ".join(exc.messages)
    if exc.code == "wrong_size":
        # The shared rule's message ends with a hint for the page form's checkbox.
        message = (
            message.split(". ")[0] + ". input_reference must match the video's size "
            "(or send input_reference_fit=true to crop it to fit)."
        )
    return message
