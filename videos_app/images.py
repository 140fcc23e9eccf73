"""Reference images: decided from their content, checked, and sized to the video."""

from __future__ import annotations

import io
import warnings
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, ImageOps

ALLOWED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}


def reference_image_prepare(file: IO[bytes], *, width: int, height: int, fit: bool) -> bytes:
    """Return the image as PNG bytes of exactly width x height, or raise ValidationError.

    The type comes from decoding the bytes, never from the file's name or declared type.
    With ``fit``, an image of other dimensions is center-cropped and resized; without it,
    it is refused with a message that names both sizes.
    """
    _data, image = image_read(file)
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
