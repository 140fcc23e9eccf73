"""What every engine is: the job it is given, what it returns, how it fails.

An engine turns one job into three files (MP4, WebP thumbnail, JPEG spritesheet), the
asset variants of ``ASSET_VARIANTS``. The task layer (``videos_app.jobs``) owns the
database row; an engine never touches it. There are two shapes of engine:

- ``InProcessEngine``: runs the job here (``run``), reporting progress through a
  callback, and returns the assets or raises ``ProviderError``.
- ``RemoteEngine``: a service elsewhere that takes the job (``submit``), says how it is
  going (``status``), can be searched for a create whose answer was lost
  (``find_lost``), and hands the files back (``fetch``). The generic runner in
  ``videos_app.jobs.remote`` makes that exactly-once; the engine only translates.

See ``registry.py`` for how to add one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

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


@dataclass(frozen=True)
class AssetVariant:
    """One of a finished video's three files, as every layer names it."""

    name: str  # the API's ``variant`` (and the Assets attribute)
    field: str  # the Video column that stores it
    content_type: str
    extension: str

    @property
    def filename(self) -> str:
        """Its name in the video's storage folder and in an engine's working folder."""
        return f"{self.name}.{self.extension}"


# The one table of the asset variants; the order is the API's.
ASSET_VARIANTS: dict[str, AssetVariant] = {
    v.name: v
    for v in (
        AssetVariant("video", "video_file", "video/mp4", "mp4"),
        AssetVariant("thumbnail", "thumbnail_file", "image/webp", "webp"),
        AssetVariant("spritesheet", "spritesheet_file", "image/jpeg", "jpg"),
    )
}


@dataclass(frozen=True, kw_only=True)
class Assets:
    """The files a finished job produced, in a working directory the caller owns."""

    video: Path  # H.264 + AAC, MP4 with faststart
    thumbnail: Path  # WebP
    spritesheet: Path  # JPEG grid of frames

    @classmethod
    def in_dir(cls, workdir: Path) -> Assets:
        """The three files under their usual names in ``workdir``."""
        return cls(**{name: workdir / v.filename for name, v in ASSET_VARIANTS.items()})

    def by_variant(self) -> dict[str, Path]:
        return {name: getattr(self, name) for name in ASSET_VARIANTS}


class ProviderError(Exception):
    """A job failed; ``code`` and ``message`` are shown to the user and the API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# What a remote engine raises for the runner to act on (any other ProviderError fails
# the job with its own code and message).
class Unavailable(ProviderError):
    """Transient failures outlasted the engine's retries (nothing was created by this call)."""


class OutcomeUnknown(ProviderError):
    """A submit may have reached the engine, but no answer says what it did."""


class RemoteGone(ProviderError):
    """The engine no longer has what was asked for (a job, or a finished job's files)."""


@runtime_checkable
class InProcessEngine(Protocol):
    name: str

    def run(self, spec: JobSpec, *, workdir: Path, on_progress: ProgressCallback) -> Assets:
        """Run the job to completion, writing its assets under ``workdir``."""
        ...


@dataclass(frozen=True, kw_only=True)
class RemoteRequest:
    """What a remote engine is asked to make, read from the video's row by the runner."""

    video_id: str
    operation: str  # create, remix, extend, edit
    prompt: str
    model: str  # the engine's own name for the model
    size: str
    seconds: int
    segment_seconds: int = 0  # extend: the new segment's length
    reference_image: Path | None = None
    with_characters: bool = False
    # The source (remix, extend, edit): its job id on this same engine ("" when it was
    # made elsewhere), an uploaded file the job starts from, and our stored copy.
    source_id: str = ""
    source_upload: Path | None = None
    source_file: Path | None = None
    source_prompt: str = ""
    # Beyond the retired API (each engine sends what its model takes; the route's
    # capabilities refused the rest before the job was made).
    seed: int | None = None
    last_frame: Path | None = None  # an image the video ends on
    reference_images: tuple[Path, ...] = ()  # images of what the video shows (style, subject)
    negative_prompt: str = ""
    audio: bool | None = None  # None: the model's default
    # A public URL this studio receives the vendor's webhooks at ("" when it has none).
    webhook_url: str = ""

    @property
    def aspect_ratio(self) -> str:
        """``size`` as the vendors' aspect ratio ("16:9", "9:16", "1:1", or "W:H")."""
        return size_aspect_ratio(self.size)

    @property
    def resolution(self) -> str:
        """``size`` as the vendors' resolution name ("720p", "1080p", ...): its short side."""
        return size_resolution(self.size)


@dataclass(frozen=True, kw_only=True)
class RemoteStatus:
    """A remote job as the engine reports it."""

    id: str
    status: str  # queued, in_progress, completed, failed (the Videos API's words)
    progress: int
    error_code: str = ""
    error_message: str = ""
    poll_after: float | None = None  # seconds, when the engine advises a wait


def size_aspect_ratio(size: str) -> str:
    """``"1280x720"`` -> ``"16:9"``; ``"1024x1792"`` -> ``"4:7"`` (the reduced W:H)."""
    from math import gcd

    width, height = (int(n) for n in size.split("x"))
    common = gcd(width, height)
    ratio = f"{width // common}:{height // common}"
    # The near-16:9 sizes some models make (1280x704, 832x480) read as their family's.
    for name, value in (("16:9", 16 / 9), ("9:16", 9 / 16), ("1:1", 1.0)):
        if abs(width / height - value) / value < 0.05:
            return name
    return ratio


def size_resolution(size: str) -> str:
    """``"1280x720"`` -> ``"720p"``; ``"3840x2160"`` -> ``"4k"`` (by the short side)."""
    width, height = (int(n) for n in size.split("x"))
    short = min(width, height)
    if short >= 2160:
        return "4k"
    return f"{short}p"


@dataclass(frozen=True, kw_only=True)
class WebhookEvent:
    """A vendor's webhook, verified by its engine: which job it is about."""

    webhook_id: str  # unique per message (a replay carries the same one)
    job_id: str  # the vendor's id of the job
    event_type: str  # the vendor's own word, for the log
    final: bool = True  # the job says it ended (completed, failed, cancelled)


class WebhookRefused(Exception):
    """A webhook that is not the vendor's (bad signature, stale timestamp, bad body)."""


@runtime_checkable
class RemoteEngine(Protocol):
    """A service that runs jobs elsewhere. Each call may raise ``Unavailable``,
    ``RemoteGone`` or another ``ProviderError``; ``submit`` also ``OutcomeUnknown``."""

    name: str

    def check(self, request: RemoteRequest) -> None:
        """Refuse (ProviderError) what this engine cannot do, before anything is sent."""
        ...

    def submit(self, request: RemoteRequest) -> str:
        """Start the job; return its id on the engine. Called at most once per video."""
        ...

    def status(self, job_id: str) -> RemoteStatus: ...

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        """Ids of jobs that a submit sent at ``since`` (unix seconds, our clock) whose
        answer was lost may have started: made since then and matching ``request``."""
        ...

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        """Copy one asset variant of a finished job into ``dest``; return its size."""
        ...

    def delete(self, job_id: str) -> bool:
        """Delete the engine's copy; True once it is gone (already gone counts)."""
        ...

    def close(self) -> None: ...


# What a remote engine may also have (the runner asks with ``getattr``):
#
# - ``remote_variants: tuple[str, ...]``: the asset variants ``fetch`` can give (default
#   all three); the studio makes the others from the video (``jobs.finish``).
# - ``cancel(job_id) -> bool``: stop the job at the vendor (True when it stopped, or had
#   already ended); without it a cancelled job is abandoned and its result discarded.
# - ``native_extend: bool`` (or a method of the ``RemoteRequest``, where it depends on
#   the model): ``submit`` continues a video itself for ``extend``; without it the
#   runner sends a ``create`` from the source's last frame and stitches the two.
# - ``webhook(headers, body, secret) -> WebhookEvent | None``: verify and read a
#   webhook in the vendor's own scheme (raising ``WebhookRefused``); without it the
#   studio takes Standard Webhooks signed with the provider's secret.
# - ``probe() -> str``: one cheap authenticated call (``providers check``): what it saw.


def can_cancel(engine: object) -> bool:
    return callable(getattr(engine, "cancel", None))


def remote_variants(engine: object) -> tuple[str, ...]:
    return tuple(getattr(engine, "remote_variants", None) or ASSET_VARIANTS)


Engine = InProcessEngine | RemoteEngine
