"""Reading a source video (of an edit or an extension): frames at given times, and audio.

Child-side, no Django. Any MP4 that FFmpeg decodes will do; what cannot be opened or
decoded raises ``SourceError`` (the worker exits with status 3: ``source_unreadable``).

Memory stays bounded whatever the source's length: frames are decoded in order and
only the ones asked for are kept (at most ``window`` at a time); going backwards means
seeking to the keyframe before the wanted time and decoding forward from there; audio is
decoded once into a scratch file and read back by ranges.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import av
import numpy as np

from .backgrounds import frame_planes
from .scene import Planes
from .spec import AUDIO_RATE, Arr, SourceError

T = TypeVar("T")
EPSILON = 1e-4  # s: frame times are rounded to the stream's time base
# Decoding forward past this many seconds to reach a wanted frame costs more than a seek
# (used when keyframe times are not known).
SEEK_AHEAD = 3.0
# Sparse reads skip the frames no other frame refers to (about half of x264's) until
# this close to a wanted one: the decoder's threads and reordering lag behind a switch.
SKIP_UNTIL = 0.5


def _describe(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


class SourceVideo:
    """The video stream of a source file, decoded on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.container = av.open(str(path))
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise SourceError(f"the source video could not be read ({_describe(exc)})") from exc
        if not self.container.streams.video:
            self.container.close()
            raise SourceError("the source file has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        cc = self.stream.codec_context
        self.width, self.height = cc.width, cc.height
        if not self.width or not self.height:
            self.container.close()
            raise SourceError("the source video has no picture size")
        self.time_base = float(self.stream.time_base or 0) or 1e-6
        start = self.stream.start_time
        self.start = start * self.time_base if start is not None else 0.0
        rate = self.stream.average_rate or self.stream.guessed_rate
        self.rate = float(rate) if rate else 24.0
        self.frames = int(self.stream.frames or 0)
        if self.stream.duration:
            self.duration = self.stream.duration * self.time_base
        elif self.container.duration:
            self.duration = self.container.duration / av.time_base
        else:
            self.duration = self.frames / self.rate
        self._frames: Iterator[av.VideoFrame] = self._decode()
        self._last: av.VideoFrame | None = None  # the latest decoded frame
        self._last_time = -math.inf
        self._decoded_any = False
        self.decoded = 0  # frames decoded so far (for progress and tests)

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> SourceVideo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decoding ------------------------------------------------------------------

    def _decode(self) -> Iterator[av.VideoFrame]:
        try:
            for packet in self.container.demux(self.stream):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue  # a damaged packet: skip it, keep the rest
                for frame in frames:
                    self.decoded += 1
                    self._decoded_any = True
                    yield frame
        except av.error.FFmpegError as exc:
            raise SourceError(f"the source video could not be decoded ({_describe(exc)})") from exc

    def _time(self, frame: av.VideoFrame) -> float:
        if frame.pts is None:
            return self._last_time + 1.0 / self.rate
        return frame.pts * self.time_base - self.start

    def _seek(self, t: float) -> None:
        offset = round((t + self.start) / self.time_base)
        try:
            self.container.seek(max(0, offset), stream=self.stream, backward=True)
        except av.error.FFmpegError as exc:
            raise SourceError(f"the source video could not be read ({_describe(exc)})") from exc
        self._frames = self._decode()
        self._last, self._last_time = None, -math.inf

    def _should_seek(self, t: float, keyframes: Sequence[float] | None) -> bool:
        if t < self._last_time - EPSILON:
            return True  # behind us
        if keyframes is None:
            return t - max(self._last_time, 0.0) > SEEK_AHEAD
        # A keyframe between here and there: starting from it skips decoding the gap.
        index = int(np.searchsorted(keyframes, t + EPSILON, side="right")) - 1
        return index >= 0 and keyframes[index] > self._last_time + EPSILON

    def frames_at(
        self,
        times: Sequence[float],
        convert: Callable[[av.VideoFrame], T],
        *,
        keyframes: Sequence[float] | None = None,
        window: int = 64,
        sparse: bool = False,
    ) -> Iterator[T]:
        """For each time (seconds from the start), in order, ``convert`` of the frame shown
        then (the last frame starting at or before it).

        Times may come in any order. They are taken in chunks spanning at most ``window``
        requests; each chunk is decoded forward (after a seek when it lies behind, or far
        ahead, of the decoder) and only its frames are kept, each converted once.
        ``keyframes``: the keyframe times, when known, make the seek decisions exact.
        ``sparse``: for times far apart (previews), skip decoding the non-reference frames
        on the way to each; the frame shown at a time may then be one frame off.
        """
        i = 0
        while i < len(times):
            lo = hi = times[i]
            j = i + 1
            while j < len(times) and j - i < window:
                lo, hi = min(lo, times[j]), max(hi, times[j])
                if (hi - lo) * self.rate > window:
                    break
                j += 1
            chunk = times[i:j]
            found = self._fetch(sorted(set(chunk)), convert, keyframes, sparse)
            for t in chunk:
                yield found[t]
            i = j

    def _fetch(
        self,
        wanted: list[float],
        convert: Callable[[av.VideoFrame], T],
        keyframes: Sequence[float] | None,
        sparse: bool = False,
    ) -> dict[float, T]:
        if self._should_seek(wanted[0], keyframes):
            self._seek(wanted[0])
        found: dict[float, T] = {}
        converted: tuple[av.VideoFrame, T] | None = None

        def take(frame: av.VideoFrame) -> T:
            nonlocal converted
            if converted is None or converted[0] is not frame:
                converted = (frame, convert(frame))
            return converted[1]

        index = 0
        while index < len(wanted):
            if sparse:
                # Not before the first frame after a seek: where that is is unknown.
                far = self._last is not None and wanted[index] - self._last_time > SKIP_UNTIL
                self.stream.codec_context.skip_frame = "NONREF" if far else "DEFAULT"
            frame = next(self._frames, None)
            if frame is None:  # the end: the last frame stays on screen
                if self._last is None:
                    raise SourceError("the source video has no frames that decode")
                for t in wanted[index:]:
                    found[t] = take(self._last)
                break
            time = self._time(frame)
            while index < len(wanted) and wanted[index] < time - EPSILON:
                # The frame before this one; or this one, where the stream (or what a
                # seek reached) starts after the wanted time.
                found[wanted[index]] = take(self._last if self._last is not None else frame)
                index += 1
            self._last, self._last_time = frame, time
        return found


class Conform:
    """A decoded frame as owned width x height yuv420p planes: scaled to cover the size
    and centre-cropped (a source of another shape loses its edges), optionally flipped."""

    def __init__(
        self,
        source: tuple[int, int],
        size: tuple[int, int],
        *,
        hflip: bool = False,
        vflip: bool = False,
    ) -> None:
        (sw, sh), (w, h) = source, size
        scale = max(w / sw, h / sh)
        self.scaled = (max(w, round(sw * scale / 2) * 2), max(h, round(sh * scale / 2) * 2))
        self.size = size
        self.x0 = (self.scaled[0] - w) // 4 * 2
        self.y0 = (self.scaled[1] - h) // 4 * 2
        self.cols = slice(None, None, -1) if hflip else slice(None)
        self.rows = slice(None, None, -1) if vflip else slice(None)

    def __call__(self, frame: av.VideoFrame) -> Planes:
        w, h = self.size
        direct = (
            frame.format.name == "yuv420p"
            and (frame.width, frame.height) == self.scaled
            and frame.color_range != 2  # full range ("pc") needs squeezing to ours
        )
        if not direct:
            frame = frame.reformat(
                width=self.scaled[0],
                height=self.scaled[1],
                format="yuv420p",
                interpolation="BICUBIC",
                src_color_range=frame.color_range or None,
                dst_color_range=1,
            )
        p = frame_planes(frame)
        x, y = self.x0, self.y0
        crop = (
            p.y[y : y + h, x : x + w],
            p.u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2],
            p.v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2],
        )
        return Planes(*(np.ascontiguousarray(a[self.rows, self.cols]) for a in crop))


# ---------------------------------------------------------------------------- audio


def _resampled(
    container: av.container.InputContainer, stream: Any, origin: float
) -> Iterator[tuple[int, Arr]]:
    """(first sample's position at 48 kHz from ``origin`` s, float32 (2, n)) per chunk."""
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
    position: int | None = None
    time_base = float(stream.time_base or 0)

    def chunks(frames: list[av.AudioFrame], pts: int | None) -> Iterator[tuple[int, Arr]]:
        nonlocal position
        for out in frames:
            if position is None:
                start = pts * time_base - origin if pts is not None else 0.0
                position = round(start * AUDIO_RATE)
            samples = out.to_ndarray().astype(np.float32, copy=False)
            yield position, samples
            position += samples.shape[1]

    try:
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError:
                continue
            for frame in decoded:
                yield from chunks(resampler.resample(frame), frame.pts)
        yield from chunks(resampler.resample(None), None)
    except av.error.FFmpegError as exc:
        raise SourceError(f"the source audio could not be decoded ({_describe(exc)})") from exc


def _open_audio(path: Path) -> tuple[av.container.InputContainer, Any, float] | None:
    """The container, its first audio stream and the video's start time; None: no audio."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise SourceError(f"the source video could not be read ({_describe(exc)})") from exc
    if not container.streams.audio:
        container.close()
        return None
    video = container.streams.video[0] if container.streams.video else None
    origin = 0.0
    if video is not None and video.start_time is not None and video.time_base:
        origin = float(video.start_time * video.time_base)
    return container, container.streams.audio[0], origin


class SourceAudio:
    """A source's audio as 48 kHz stereo float32, decoded once into a scratch file.

    Positions count from the video's start, so sound and picture stay in sync. Reads
    outside what the source has give silence (a source without audio is all silence).
    """

    def __init__(
        self,
        path: Path,
        scratch: IO[bytes],
        *,
        until: int,
        on_progress: Callable[[], None] = lambda: None,
    ) -> None:
        """Decode up to sample ``until`` (the rest is never read)."""
        self.file = scratch
        self.length = 0  # samples written
        opened = _open_audio(path)
        if opened is None:
            return
        container, stream, origin = opened
        with container:
            for position, samples in _resampled(container, stream, origin):
                self._write(position, samples[:, : max(0, until - position)])
                on_progress()
                if position + samples.shape[1] >= until:
                    break
        self.file.flush()

    def _write(self, position: int, samples: Arr) -> None:
        if position < self.length:  # overlaps what is written (or starts before 0): trim
            samples = samples[:, self.length - position :]
            position = self.length
        if samples.shape[1] == 0:
            return
        if position > self.length:  # a gap: silence
            self.file.write(np.zeros(2 * (position - self.length), np.float32).tobytes())
        self.file.write(np.ascontiguousarray(samples.T).tobytes())
        self.length = position + samples.shape[1]

    def read(self, start: int, n: int) -> Arr:
        """Samples start..start+n as (2, n) float32, silence where there are none."""
        out = np.zeros((2, n), np.float32)
        lo, hi = max(0, start), min(self.length, start + n)
        if lo < hi:
            self.file.seek(lo * 8)
            data = np.frombuffer(self.file.read((hi - lo) * 8), np.float32)
            out[:, lo - start : hi - start] = data.reshape(-1, 2).T
        return out


def decode_audio_span(path: Path, start: int, stop: int) -> Arr:
    """The source's audio samples start..stop (48 kHz stereo, from the video's start),
    decoded from a little before ``start`` only; silence where the source has none."""
    out = np.zeros((2, max(0, stop - start)), np.float32)
    opened = _open_audio(path)
    if opened is None:
        return out
    container, stream, origin = opened
    with container:
        # AAC frames overlap their neighbours: start a few frames early.
        lead = max(0.0, (start - 4 * 1024) / AUDIO_RATE + origin)
        if stream.time_base and lead > 0:
            container.seek(int(lead / float(stream.time_base)), stream=stream, backward=True)
        for position, samples in _resampled(container, stream, origin):
            lo, hi = max(start, position), min(stop, position + samples.shape[1])
            if lo < hi:
                out[:, lo - start : hi - start] = samples[:, lo - position : hi - position]
            if position >= stop:
                break
    return out
