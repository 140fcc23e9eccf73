"""What the renderer is asked to do: the job spec read back from its file, and its bounds.

The spec is the providers' own ``JobSpec`` (``videos_app.providers.base``); the parent
writes ``JobSpec.to_dict()`` plus the three output paths as one JSON object, and
``read_spec`` turns it back into a ``JobSpec`` and an ``Assets``. ``check`` holds the
renderer's bounds: the durations and character count are the studio's own
(``videos_app.providers.limits``, Django-free); the seconds' lower bound, sources and
frame sides are wider, so a spec written by hand for the command line can ask more.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from numpy.typing import NDArray

from videos_app.providers import limits
from videos_app.providers.base import Assets, JobSpec

Arr = NDArray[Any]
RGB = tuple[float, float, float]

FPS: Final = 24
AUDIO_RATE: Final = 48_000
AUDIO_CHUNK: Final = 1024  # one AAC frame
SAMPLES_PER_FRAME: Final = AUDIO_RATE // FPS
MIN_SECONDS: Final = 1
MAX_SECONDS: Final = max(limits.SECONDS)
MIN_SEGMENT_SECONDS: Final = min(limits.EXTENSION_SECONDS)
MAX_SEGMENT_SECONDS: Final = max(limits.EXTENSION_SECONDS)
# Sources of edits and extensions: the renderer's own bound (the studio allows less).
MAX_SOURCE_SECONDS: Final = 300
MAX_CHARACTERS: Final = limits.MAX_CHARACTERS
MIN_SIDE: Final = 64
MAX_SIDE: Final = 2048
OPERATIONS: Final = ("create", "remix", "extend", "edit")
SPEC_ERROR_STATUS: Final = 2
SOURCE_ERROR_STATUS: Final = 3


class SpecError(ValueError):
    """The spec cannot be rendered (exit status 2)."""


class SourceError(RuntimeError):
    """The source video of an edit or extension cannot be read or decoded (exit status 3)."""


def read_spec(text: str) -> tuple[JobSpec, Assets]:
    """The job and where its files go, from the spec file's JSON; checked.

    Raises ``SpecError`` for anything malformed or out of bounds.
    """
    try:
        raw = json.loads(text)
        spec = JobSpec.from_dict(raw)
        out = Assets(
            video=Path(raw["video"]),
            thumbnail=Path(raw["thumbnail"]),
            spritesheet=Path(raw["spritesheet"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SpecError(f"malformed spec: {exc}") from exc
    check(spec)
    return spec, out


def check(spec: JobSpec) -> None:
    """Raise ``SpecError`` unless this spec is one the renderer can do."""
    for side in (spec.width, spec.height):
        if not MIN_SIDE <= side <= MAX_SIDE or side % 2:
            raise SpecError(f"width and height must be even, {MIN_SIDE}..{MAX_SIDE} px")
    if spec.operation not in OPERATIONS:
        raise SpecError(f"operation must be one of {', '.join(OPERATIONS)}")
    if spec.operation in ("create", "remix"):
        if not MIN_SECONDS <= spec.seconds <= MAX_SECONDS:
            raise SpecError(f"seconds must be {MIN_SECONDS}..{MAX_SECONDS}")
    else:
        if spec.source_video is None:
            raise SpecError(f"an {spec.operation} needs a source_video")
        if not MIN_SECONDS <= spec.seconds <= MAX_SOURCE_SECONDS:
            raise SpecError(f"seconds must be {MIN_SECONDS}..{MAX_SOURCE_SECONDS}")
    if spec.operation == "extend":
        if not MIN_SEGMENT_SECONDS <= spec.segment_seconds <= MAX_SEGMENT_SECONDS:
            raise SpecError(f"segment_seconds must be {MIN_SEGMENT_SECONDS}..{MAX_SEGMENT_SECONDS}")
        if spec.seconds <= spec.segment_seconds:
            raise SpecError("seconds (the stitched total) must exceed segment_seconds")
    if len(spec.characters) > MAX_CHARACTERS:
        raise SpecError(f"at most {MAX_CHARACTERS} characters")
    if any(not c.name.strip() for c in spec.characters):
        raise SpecError("a character needs a name")
