"""Reference images: decided from their content, checked, and sized to the video; and a
page form's upload kept across a form error (see "Kept uploads" below)."""

from __future__ import annotations

import base64
import contextlib
import io
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

ALLOWED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}


def reference_image_prepare(file: IO[bytes], *, width: int, height: int, fit: bool) -> bytes:
    """Return the image as PNG bytes of exactly width x height, or raise ValidationError.

    The type comes from decoding the bytes, never from the file's name or declared type.
    With ``fit``, an image of other dimensions is center-cropped and resized; without it,
    it is refused with a message that names both sizes.
    """
    _data, image = image_read(file)
    return reference_image_sized(image, width=width, height=height, fit=fit)


def reference_image_sized(image: Image.Image, *, width: int, height: int, fit: bool) -> bytes:
    """``reference_image_prepare`` of an image already read (``image_read``).

    Fitting covers the frame and crops the overflow evenly from both sides (``ImageOps.fit``,
    centred): the create page's preview shows that crop (CSS ``object-fit: cover``)."""
    if image.size != (width, height):
        if not fit:
            raise ValidationError(
                f"The image is {image.width}x{image.height} but the video is "
                f"{width}x{height}. Use an image of exactly that size, or tick "
                "“Fit image to size”.",
                code="wrong_size",
            )
        image = ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=3)
    return out.getvalue()


REFERENCE_LONG_SIDE = 2048  # an image of what to show: more detail than this, no vendor uses


def reference_image_any(file: IO[bytes]) -> bytes:
    """A reference image of what the video shows (``reference_images``): any size, as
    PNG bytes, scaled down to at most ``REFERENCE_LONG_SIDE`` on its long side; read by
    the one rule of ``image_read``, or ValidationError."""
    _data, image = image_read(file)
    if max(image.size) > REFERENCE_LONG_SIDE:
        image.thumbnail((REFERENCE_LONG_SIDE, REFERENCE_LONG_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=3)
    return out.getvalue()


def image_read(file: IO[bytes]) -> tuple[bytes, Image.Image]:
    """The file's bytes and its decoded upright RGB image, or ValidationError.

    The one reading of an uploaded image (the create form, ``input_reference``, /v1/files):
    a size cap, the type from the content, a pixel cap from the header, a full decode."""
    max_bytes = settings.STUDIO_MAX_IMAGE_BYTES
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(
            f"The image is larger than {max_bytes // (1024 * 1024)} MB.", code="too_large"
        )
    if not data:
        raise ValidationError("The image file is empty.", code="empty")
    return data, _decode(data)


def _decode(data: bytes) -> Image.Image:
    max_pixels = settings.STUDIO_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format or ""
            if image_format not in ALLOWED_FORMATS:
                raise ValidationError(
                    "The file is not a JPEG, PNG or WebP image.", code="invalid_type"
                )
            # Checked from the header, before a single pixel is decoded.
            if image.width * image.height > max_pixels:
                raise ValidationError(
                    f"The image has too many pixels ({image.width}x{image.height}).",
                    code="too_many_pixels",
                )
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError("The image has too many pixels.", code="too_many_pixels") from exc
    except Image.UnidentifiedImageError as exc:
        raise ValidationError(
            "The file is not a JPEG, PNG or WebP image.", code="invalid_type"
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValidationError("The image is damaged and cannot be read.", code="corrupt") from exc
    upright: Image.Image = ImageOps.exif_transpose(image)
    return upright.convert("RGB")


# --- Kept uploads ---------------------------------------------------------------------
#
# A browser cannot fill a file input again, so when the create form is refused for
# another field, its valid reference image waits in storage and the page carries a signed
# token naming it. Only the user it names may use it, for KEEP_SECONDS; a create that
# uses (or replaces) it deletes it, and the housekeeping sweep removes the rest
# (``kept_uploads_sweep``). The original bytes are kept, so a changed size crops anew.

KEPT_FOLDER = "kept_uploads"
KEEP_SECONDS = 3600
_KEPT_SALT = "videos_app.images.kept_upload"
PREVIEW_BOX = (480, 480)


@dataclass(frozen=True)
class KeptUpload:
    token: str
    name: str  # in default_storage
    preview: str  # a data: URL of a small JPEG
    width: int  # of the original, upright
    height: int


def kept_upload_save(*, user_id: int, data: bytes, image: Image.Image) -> KeptUpload:
    """Store an upload that read as an image (``image_read``) for its user's next try."""
    # The time leads the name, so the sweep needs no file dates.
    name = f"{KEPT_FOLDER}/{int(time.time())}-{secrets.token_urlsafe(18)}"
    name = default_storage.save(name, ContentFile(data))
    token = signing.dumps({"u": user_id, "n": name}, salt=_KEPT_SALT)
    return KeptUpload(token, name, _preview(image), image.width, image.height)


def kept_upload_open(token: str, *, user_id: int) -> tuple[KeptUpload, Image.Image] | None:
    """The upload a token of this user names and its image; None when the token is not
    theirs, is damaged or expired, or its file is gone (used, or swept)."""
    try:
        payload = signing.loads(token, salt=_KEPT_SALT, max_age=KEEP_SECONDS)
    except signing.BadSignature:  # expired included
        return None
    if not isinstance(payload, dict) or payload.get("u") != user_id:
        return None
    name = payload.get("n")
    if not isinstance(name, str) or not name.startswith(f"{KEPT_FOLDER}/"):
        return None
    try:
        with default_storage.open(name, "rb") as fh:
            _data, image = image_read(fh)
    except (FileNotFoundError, ValidationError):
        return None
    return KeptUpload(token, name, _preview(image), image.width, image.height), image


def kept_upload_delete(name: str) -> None:
    if name.startswith(f"{KEPT_FOLDER}/"):
        with contextlib.suppress(OSError):
            default_storage.delete(name)


def kept_uploads_sweep(*, now: float | None = None) -> int:
    """Delete the kept uploads past their token's life; how many were deleted."""
    cutoff = (time.time() if now is None else now) - KEEP_SECONDS
    try:
        _folders, files = default_storage.listdir(KEPT_FOLDER)
    except OSError:  # none kept yet (or unreadable: the next sweep tries again)
        return 0
    stale = [f for f in files if not f.split("-")[0].isdigit() or int(f.split("-")[0]) < cutoff]
    for file in stale:
        kept_upload_delete(f"{KEPT_FOLDER}/{file}")
    return len(stale)


def _preview(image: Image.Image) -> str:
    scale = min(1.0, PREVIEW_BOX[0] / image.width, PREVIEW_BOX[1] / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # Straight to the small size (no full-size copy): this runs on every kept image read.
    small = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
