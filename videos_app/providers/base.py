"""The interface every generation backend implements.

A provider turns one job into three files (MP4, WebP thumbnail, JPEG spritesheet).
The task layer owns the database row; a provider never touches it, it only reports
progress through a callback and either returns the assets or raises ``ProviderError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True, kw_only=True)
class CharacterSpec:
    """A character to show in the scene: its name and a poster frame (an image file)."""

    name: str
    poster: Path

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "poster": str(self.poster)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CharacterSpec:
        return cls(name=str(raw["name"]), poster=Path(raw["poster"]))


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

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-safe values (the local renderer's child reads it back)."""
        return {
            "video_id": self.video_id,
            "prompt": self.prompt,
            "model": self.model,
            "width": self.width,
            "height": self.height,
            "seconds": self.seconds,
            "seed": self.seed,
            "reference_image": str(self.reference_image) if self.reference_image else None,
            "operation": self.operation,
            "source_video": str(self.source_video) if self.source_video else None,
            "source_prompt": self.source_prompt,
            "segment_seconds": self.segment_seconds,
            "characters": [c.to_dict() for c in self.characters],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> JobSpec:
        """The inverse of ``to_dict``; raises ``KeyError``, ``TypeError`` or ``ValueError``.

        Only the scene's fields are required: a spec written by hand for the renderer's
        command line may leave out ``video_id`` and ``model``, which no renderer reads.
        """
        return cls(
            prompt=str(raw["prompt"]),
            seed=int(raw["seed"]),
            width=int(raw["width"]),
            height=int(raw["height"]),
            seconds=int(raw["seconds"]),
            video_id=str(raw.get("video_id") or ""),
            model=str(raw.get("model") or ""),
            reference_image=Path(raw["reference_image"]) if raw.get("reference_image") else None,
            operation=str(raw.get("operation") or "create"),
            source_video=Path(raw["source_video"]) if raw.get("source_video") else None,
            source_prompt=str(raw.get("source_prompt") or ""),
            segment_seconds=int(raw.get("segment_seconds") or 0),
            characters=tuple(CharacterSpec.from_dict(c) for c in raw.get("characters") or ()),
        )


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
