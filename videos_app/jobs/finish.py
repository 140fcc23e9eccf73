"""What a vendor's video needs at home before it is stored: the previews it did not send.

Most vendors give only the MP4. The studio makes the WebP thumbnail (the middle frame)
and the JPEG spritesheet (5 x 5 tiles at (tile + 0.5) / 25 of the duration) exactly as
the local renderer lays them out, in one decoding pass that keeps only the frames it
needs (constant memory whatever the video's length).
"""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image

from videos_app.providers.base import ProviderError
from videos_app.renderer.encode import (
    SHEET_COLUMNS,
    SHEET_ROWS,
    THUMB_LONG_SIDE,
    TILE_LONG_SIDE,
    fit_long_side,
)

TILES = SHEET_COLUMNS * SHEET_ROWS


def previews_from_video(video: Path, *, thumbnail: Path | None, spritesheet: Path | None) -> None:
    """Write the thumbnail and/or spritesheet of ``video``; ``ProviderError`` if it does
    not decode."""
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            duration = _duration(container, stream)
            # The time each tile shows, and the thumbnail's (the middle).
            wanted = [(tile + 0.5) * duration / TILES for tile in range(TILES)]
            middle = duration / 2
            width, height = stream.codec_context.width, stream.codec_context.height
            tile_size = fit_long_side(width, height, TILE_LONG_SIDE)
            sheet = Image.new("RGB", (tile_size[0] * SHEET_COLUMNS, tile_size[1] * SHEET_ROWS))
            thumb: Image.Image | None = None
            next_tile = 0
            last: av.VideoFrame | None = None
            for frame in container.decode(stream):
                t = float(frame.time or 0.0) + 1e-6
                last = frame
                need_tile = next_tile < TILES and t >= wanted[next_tile]
                need_thumb = thumb is None and t >= middle
                if not (need_tile or need_thumb):
                    continue
                image = frame.to_image()
                while next_tile < TILES and t >= wanted[next_tile]:
                    _paste(sheet, image.resize(tile_size), next_tile, tile_size)
                    next_tile += 1
                if need_thumb:
                    thumb = image.resize(fit_long_side(width, height, THUMB_LONG_SIDE))
                if next_tile >= TILES and thumb is not None:
                    break
            if last is None:
                raise ValueError("no frame decodes")
            # A video shorter than its header says: its last frame fills what is left.
            tail = last.to_image()
            while next_tile < TILES:
                _paste(sheet, tail.resize(tile_size), next_tile, tile_size)
                next_tile += 1
            if thumb is None:
                thumb = tail.resize(fit_long_side(width, height, THUMB_LONG_SIDE))
    except (av.error.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise ProviderError(
            "upstream_invalid_asset", f"The provider's video does not decode ({exc})."
        ) from None
    if thumbnail is not None:
        thumb.save(thumbnail, "WEBP", quality=82, method=4)
    if spritesheet is not None:
        sheet.save(spritesheet, "JPEG", quality=82, optimize=True)


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    raise ValueError("no duration")


def _paste(sheet: Image.Image, tile: Image.Image, index: int, size: tuple[int, int]) -> None:
    row, col = divmod(index, SHEET_COLUMNS)
    sheet.paste(tile, (col * size[0], row * size[1]))
