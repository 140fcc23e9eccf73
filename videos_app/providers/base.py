"""The interface every generation backend implements.

A provider turns one job into three files (MP4, WebP thumbnail, JPEG spritesheet).
The task layer owns the database row; a provider never touches it, it only reports
progress through a callback and either returns the assets or raises ``ProviderError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True, kw_only=True)
class CharacterSpec:
    """A character to show in the scene: its name and a poster frame (an image file)."""

    name: str
    poster: Path


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """Everything a provider needs to run one job.

    ``operation`` is one of ``create``, ``remix``, ``extend``, ``edit``:
    - remix: ``seed``, size and ``seconds`` are the source's, ``prompt`` is the new one,
      ``source_prompt`` the source's; the scene is kept and the prompt's changes applied.
    - extend: ``source_video`` is the source MP4; ``segment_seconds`` the new segment's
      length; ``seconds`` the stitched total. The result continues from its last frame.
    - edit: ``source_video`` is the MP4 to edit; ``prompt`` says what to change;
      size and ``seconds`` are the source's.
    """

    video_id: str
    prompt: str
    model: str
    width: int
    height: int
    seconds: int
    seed: int
    # An image already validated and sized to exactly width x height, or None.
    reference_image: Path | None = None
    operation: str = "create"
    source_video: Path | None = None
    source_prompt: str = ""
    segment_seconds: int = 0
    characters: tuple[CharacterSpec, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Assets:
    """The files a finished job produced, in a working directory the caller owns."""

    video: Path  # H.264 + AAC, MP4 with faststart
    thumbnail: Path  # WebP
    spritesheet: Path  # JPEG grid of frames


class ProviderError(Exception):
    """A job failed; ``code`` and ``message`` are shown to the user and the API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Provider(Protocol):
    name: str

    def run(self, spec: JobSpec, *, workdir: Path, on_progress: ProgressCallback) -> Assets:
        """Run the job to completion, writing its assets under ``workdir``."""
        ...
