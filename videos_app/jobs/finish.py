"""What a vendor's video needs at home before it is stored: the previews it did not send,
and, for an engine that cannot extend a video itself, the stitch of source and segment.

Most vendors give only the MP4. The studio makes the WebP thumbnail (the middle frame)
and the JPEG spritesheet (5 x 5 tiles at (tile + 0.5) / 25 of the duration) exactly as
the local renderer lays them out, in one decoding pass that keeps only the frames it
needs (constant memory whatever the video's length). That pass is most of the studio's
own time on a vendor's job, so it is kept cheap: frames no other frame refers to (most
B-frames) are not decoded, so a tile shows the first decoded frame at or after its time
(at most a few frames later), and a kept frame is scaled straight to its tile's size by
swscale, never converted whole to an image first.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from videos_app.providers.base import Assets, ProviderError
from videos_app.renderer.encode import (
    SHEET_COLUMNS,
    SHEET_ROWS,
    THUMB_LONG_SIDE,
    TILE_LONG_SIDE,
    add_streams,
    audio_frame,
    fit_long_side,
    open_output,
)
from videos_app.renderer.spec import AUDIO_CHUNK, AUDIO_RATE, FPS

TILES = SHEET_COLUMNS * SHEET_ROWS


def previews_from_video(video: Path, *, thumbnail: Path | None, spritesheet: Path | None) -> None:
    """Write the thumbnail and/or spritesheet of ``video``; ``ProviderError`` if it does
    not decode."""
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.codec_context.skip_frame = "NONREF"
            duration = _duration(container, stream)
            # The time each tile shows, and the thumbnail's (the middle).
            wanted = [(tile + 0.5) * duration / TILES for tile in range(TILES)]
            middle = duration / 2
            width, height = stream.codec_context.width, stream.codec_context.height
            tile_size = fit_long_side(width, height, TILE_LONG_SIDE)
            thumb_size = fit_long_side(width, height, THUMB_LONG_SIDE)
            sheet = Image.new("RGB", (tile_size[0] * SHEET_COLUMNS, tile_size[1] * SHEET_ROWS))
            thumb: Image.Image | None = None
            next_tile = 0
            last: av.VideoFrame | None = None
            for frame in container.decode(stream):
                t = float(frame.time or 0.0) + 1e-6
                last = frame
                if next_tile < TILES and t >= wanted[next_tile]:
                    tile = _scaled(frame, tile_size)
                    while next_tile < TILES and t >= wanted[next_tile]:
                        _paste(sheet, tile, next_tile, tile_size)
                        next_tile += 1
                if thumb is None and t >= middle:
                    thumb = _scaled(frame, thumb_size)
                if next_tile >= TILES and thumb is not None:
                    break
            if last is None:
                raise ValueError("no frame decodes")
            # A video shorter than its header says: its last frame fills what is left.
            if next_tile < TILES:
                tile = _scaled(last, tile_size)
                while next_tile < TILES:
                    _paste(sheet, tile, next_tile, tile_size)
                    next_tile += 1
            if thumb is None:
                thumb = _scaled(last, thumb_size)
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


def _scaled(frame: av.VideoFrame, size: tuple[int, int]) -> Image.Image:
    """``frame`` at ``size``, scaled by swscale (area averaging, as a downscale should)."""
    return frame.reformat(size[0], size[1], format="rgb24", interpolation="AREA").to_image()


def _paste(sheet: Image.Image, tile: Image.Image, index: int, size: tuple[int, int]) -> None:
    row, col = divmod(index, SHEET_COLUMNS)
    sheet.paste(tile, (col * size[0], row * size[1]))


# --- an extension made by an engine that cannot extend: the new segment after the source


def last_frame_png(video: Path, dest: Path, *, size: tuple[int, int]) -> None:
    """The last frame of ``video``, as a PNG of exactly ``size`` (the next segment's first
    frame); ``ProviderError`` if it does not decode."""
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            last: av.VideoFrame | None = None
            for frame in container.decode(stream):
                last = frame
            if last is None:
                raise ValueError("no frame decodes")
            last.to_image().resize(size).save(dest, "PNG")
    except (av.error.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise ProviderError(
            "source_unreadable", f"The source video's last frame does not decode ({exc})."
        ) from None


def extension_assets(source: Path, segment: Path, assets: Assets, *, size: tuple[int, int]) -> None:
    """An extension's three files from its source and a new segment an engine made alone
    (a vendor's, or the diffusers engine's): the two stitched into ``assets.video``, and
    its previews made from the whole stitched video (the segment's would show only it)."""
    stitch(source, segment, assets.video, size=size)
    previews_from_video(assets.video, thumbnail=assets.thumbnail, spritesheet=assets.spritesheet)


def stitch(first: Path, second: Path, out: Path, *, size: tuple[int, int]) -> None:
    """``first`` then ``second`` as one MP4 of ``size``, encoded as every video of the
    studio (H.264 yuv420p at 24 fps, AAC stereo at 48 kHz, faststart); a part without
    sound is silent for its length. Frames are re-timed to 24 fps by their timestamps."""
    width, height = size
    try:
        with open_output(out) as output:
            video_out, audio_out = add_streams(output, width, height)
            frame_index = 0
            sample_index = 0
            for part in (first, second):
                frames, samples = _encode_part(
                    part, output, video_out, audio_out, size, frame_index, sample_index
                )
                frame_index += frames
                sample_index += samples
            for stream in (video_out, audio_out):
                for packet in stream.encode(None):
                    output.mux(packet)
    except (av.error.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise ProviderError(
            "upstream_invalid_asset", f"The extension could not be stitched ({exc})."
        ) from None


def _encode_part(
    path: Path,
    output: av.container.OutputContainer,
    video_out: av.video.stream.VideoStream,
    audio_out: av.audio.stream.AudioStream,
    size: tuple[int, int],
    first_frame: int,
    first_sample: int,
) -> tuple[int, int]:
    """Encode one part's frames and sound after what is there; (frames, samples) added."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration = _duration(container, stream)
        frames = max(1, round(duration * FPS))
        written = 0
        last: av.VideoFrame | None = None
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            last = frame
            # Every output frame whose time this frame covers (a 30 fps part drops some,
            # a 12 fps one repeats them).
            while written < frames and written / FPS <= t + 0.5 / FPS:
                _encode_frame(frame, output, video_out, size, first_frame + written)
                written += 1
        # A part slower than 24 fps: its last frame lasts to the part's end (an 8 fps
        # part's last frame covers three output frames, not one).
        while last is not None and written < frames:
            _encode_frame(last, output, video_out, size, first_frame + written)
            written += 1
        samples = frames * AUDIO_RATE // FPS
    sound = _sound(path, samples)
    for start in range(0, samples, AUDIO_CHUNK):
        chunk = sound[:, start : start + AUDIO_CHUNK]
        for packet in audio_out.encode(audio_frame(chunk, first_sample + start)):
            output.mux(packet)
    return written, samples


def _encode_frame(
    frame: av.VideoFrame,
    output: av.container.OutputContainer,
    video_out: av.video.stream.VideoStream,
    size: tuple[int, int],
    pts: int,
) -> None:
    image = frame.reformat(width=size[0], height=size[1], format="yuv420p")
    image.pts, image.time_base = pts, Fraction(1, FPS)
    for packet in video_out.encode(image):
        output.mux(packet)


def _sound(path: Path, samples: int) -> np.ndarray:
    """``samples`` of ``path``'s sound as (2, n) float32 at 48 kHz (silence without any)."""
    out = np.zeros((2, samples), dtype=np.float32)
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return out
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        at = 0
        for frame in container.decode(container.streams.audio[0]):
            for converted in resampler.resample(frame):
                data = converted.to_ndarray()[:, : samples - at]
                out[:, at : at + data.shape[1]] = data
                at += data.shape[1]
                if at >= samples:
                    return out
    return out
