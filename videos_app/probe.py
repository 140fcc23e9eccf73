"""Uploaded videos: decided from their content, decoded to prove it, measured."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import IO

import av
from django.core.exceptions import ValidationError
from PIL import Image

# What libavformat calls the ISO base media family (MP4, MOV, M4V).
MP4_FORMATS = {"mov", "mp4", "m4a", "3gp", "3g2", "mj2"}
MAX_SIDE = 4096
NOT_A_VIDEO = "The file is not an MP4 video that can be decoded."


@dataclass(frozen=True)
class VideoInfo:
    duration: float
    width: int
    height: int
    has_audio: bool


def video_probe(file: IO[bytes], *, max_bytes: int, max_seconds: float) -> VideoInfo:
    """Check that ``file`` is an MP4 whose frames decode; raise ValidationError if not.

    Only the container header, the first frames and the stream metadata are read, so a
    long or huge upload is refused without decoding it all.
    """
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    if size == 0:
        raise ValidationError("The video file is empty.", code="empty")
    if size > max_bytes:
        raise ValidationError(
            f"The video is larger than {max_bytes // (1024 * 1024)} MB.", code="too_large"
        )
    try:
        with av.open(file, mode="r") as container:
            names = set((container.format.name or "").split(","))
            if not names & MP4_FORMATS or not container.streams.video:
                raise ValidationError(NOT_A_VIDEO, code="invalid_type")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            duration = _duration(container, stream)
            if not width or not height or next(container.decode(stream), None) is None:
                raise ValidationError("The video has no frames that decode.", code="corrupt")
            has_audio = bool(container.streams.audio)
    except ValidationError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, StopIteration) as exc:
        raise ValidationError(NOT_A_VIDEO, code="invalid_type") from exc
    finally:
        file.seek(0)
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ValidationError(
            f"The video is {width}x{height}; the limit is {MAX_SIDE} px a side.",
            code="too_large",
        )
    if duration <= 0:
        raise ValidationError("The video has no duration.", code="corrupt")
    if duration > max_seconds + 0.05:
        raise ValidationError(
            f"The video is {duration:.1f} s long; the limit is {max_seconds:g} s.",
            code="too_long",
        )
    return VideoInfo(duration=duration, width=width, height=height, has_audio=has_audio)


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(
            stream.duration * Fraction(stream.time_base.numerator, stream.time_base.denominator)
        )
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def video_poster(file: IO[bytes], *, at: float) -> bytes:
    """A frame near ``at`` seconds as PNG bytes."""
    file.seek(0)
    with av.open(file, mode="r") as container:
        stream = container.streams.video[0]
        chosen: Image.Image | None = None
        for frame in container.decode(stream):
            chosen = frame.to_image()
            if frame.time is not None and frame.time >= at:
                break
    file.seek(0)
    if chosen is None:
        raise ValidationError("The video has no frames that decode.", code="corrupt")
    out = io.BytesIO()
    chosen.save(out, format="PNG")
    return out.getvalue()
