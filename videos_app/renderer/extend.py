"""Extensions: a source video followed by a new segment that continues from its last frame.

Child-side, no Django. The output is one MP4: the source, then ``segment_seconds`` of new
video with the new prompt, sound running through.

**Remux** (a source this renderer encoded: same H.264 parameter sets, size, 24 fps, same
AAC setup). The source's packets are copied into the output as they are (nothing is
decoded or encoded again) and the segment is encoded after them by the output's own
encoder, whose parameter sets are the source's, so the one track stays valid H.264. The
only decoding: the frames the spritesheet and thumbnail need from the source part and its
last frame (a seek to the keyframe before each), and its last second of sound.

**Fallback** (any other source, e.g. an upload of another size, rate or codec). The
source is decoded, scaled and centre-cropped to the size, conformed to 24 fps and to its
whole-second length (``seconds - segment_seconds``), and encoded with the segment.

**The seam.** If the source ends in the scene its prompt and seed draw (the source's
last frame matches our render of ``source_prompt`` at that time: a studio video), the
segment goes on drawing that scene from that moment with the new prompt, and the source's
last frame dissolves into it over the first second. Otherwise the last frame becomes the
segment's reference image: frame 0 is that picture, the camera eases into motion across
it and the new prompt's objects and caption fade in.

**Sound.** The new soundscape fades in over the source's last 0.8 s (a crossfade). AAC
frames overlap, so the join is not a cut between two encodes: the source's AAC packets
are kept up to a frame boundary ``J`` before the crossfade; from two frames before ``J``
the encoder is fed the source's own decoded sound (then the crossfade, then the new
sound) and its packets from ``J`` on are appended. The decoder then sees continuous
frames: no gap, no priming silence, and the total length is exact.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any, Final

import av
import numpy as np

from videos_app.providers.base import Assets, JobSpec

from .backgrounds import SceneBackground, frame_planes
from .encode import Previews, add_streams, audio_frame, open_output
from .prompt import Style, parse_prompt
from .scene import Planes, Scene
from .segments import Segment, scene_segment
from .sound import Soundscape
from .source import Conform, SourceAudio, SourceVideo, decode_audio_span
from .spec import AUDIO_CHUNK, AUDIO_RATE, FPS, SAMPLES_PER_FRAME, Arr

CROSSFADE: Final = int(0.8 * AUDIO_RATE)  # samples
LEAD: Final = 2 * AUDIO_CHUNK  # the re-encoded sound starts this long before the join
# The source ends in our scene when its last frame and our render of it differ by less
# than this: the sum over Y, U and V of the 80th percentile of the absolute differences
# (objects, characters and captions cover less than a fifth of the picture). Measured:
# 0-3 for studio videos, 28 for the same prompt with another seed, 70 for an edit.
SAME_SCENE: Final = 12.0
WINDOW: Final = 32  # decoded frames held at once


class Work:
    """Progress over the whole job, in units of about one rendered frame."""

    def __init__(self, total: float, progress: Callable[[int], None]) -> None:
        self.total, self.done, self.progress = max(total, 1.0), 0.0, progress

    def add(self, units: float) -> None:
        self.done += units
        self.progress(min(97, 1 + int(96 * self.done / self.total)))


# ---------------------------------------------------------------------------- H.264


def _nal_units(annexb: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (start-code separated)."""
    units, start = [], annexb.find(b"\x00\x00\x01")
    while start >= 0:
        end = annexb.find(b"\x00\x00\x01", start + 3)
        unit = annexb[start + 3 : end if end >= 0 else len(annexb)]
        units.append(unit.rstrip(b"\x00") if end >= 0 else unit)
        start = end
    return units


def _avcc(extradata: bytes) -> tuple[int, list[bytes]] | None:
    """(NAL length size, SPS + PPS units) of an ``avcC`` record, or None if it is not one."""
    try:
        if len(extradata) < 7 or extradata[0] != 1:
            return None
        length_size = (extradata[4] & 3) + 1
        units, at = [], 5
        for count_mask in (0x1F, 0xFF):  # the SPS count, then the PPS count
            count = extradata[at] & count_mask
            at += 1
            for _ in range(count):
                size = int.from_bytes(extradata[at : at + 2], "big")
                units.append(extradata[at + 2 : at + 2 + size])
                at += 2 + size
        return length_size, units
    except IndexError:
        return None


def _to_annexb(data: bytes, length_size: int) -> bytes:
    """Length-prefixed NAL units (MP4) as an Annex B stream, which the muxer converts back."""
    out, at = bytearray(), 0
    while at + length_size <= len(data):
        size = int.from_bytes(data[at : at + length_size], "big")
        at += length_size
        out += b"\x00\x00\x00\x01"
        out += data[at : at + size]
        at += size
    return bytes(out)


def remux_refusal(source: SourceVideo, video: Any, audio: Any) -> str | None:
    """Why the source's packets cannot be copied before our encoder's; None if they can.

    ``video`` and ``audio``: the output's streams, their encoders already open.
    """
    stream = source.stream
    cc = stream.codec_context
    if cc.name != "h264" or cc.pix_fmt != "yuv420p":
        return f"the source is {cc.name} {cc.pix_fmt}, not H.264 yuv420p"
    if (source.width, source.height) != (video.codec_context.width, video.codec_context.height):
        return "the source has another size"
    if stream.average_rate != FPS or not source.frames:
        return "the source has another frame rate"
    record = _avcc(bytes(cc.extradata or b""))
    ours = _nal_units(bytes(video.codec_context.extradata or b""))
    if record is None or record[1] != ours:
        return "the source was encoded with other H.264 parameters"
    sources = source.container.streams.audio
    if not sources:
        return "the source has no audio"
    acc = sources[0].codec_context
    if (
        acc.name != "aac"
        or acc.sample_rate != AUDIO_RATE
        or acc.channels != 2
        or bytes(acc.extradata or b"") != bytes(audio.codec_context.extradata or b"")
    ):
        return "the source's audio is not AAC as ours"
    return None


def copy_source(
    source: SourceVideo, out: Any, video: Any, audio: Any, keep_audio: int, work: Work
) -> list[float]:
    """Copy the source's video packets, and its audio packets that start before sample
    ``keep_audio``, into ``out``. Returns the keyframe times (seconds from the start)."""
    record = _avcc(bytes(source.stream.codec_context.extradata or b""))
    assert record is not None
    length_size = record[0]
    keyframes: list[float] = []
    with av.open(str(source.path)) as container:
        sv, sa = container.streams.video[0], container.streams.audio[0]
        start = float(sv.start_time * sv.time_base) if sv.start_time is not None else 0.0
        for packet in container.demux(sv, sa):
            if packet.dts is None:
                continue  # the demuxer's end-of-stream marker
            if packet.stream is sv:
                copy = av.Packet(_to_annexb(bytes(packet), length_size))
                copy.pts, copy.dts, copy.duration = packet.pts, packet.dts, packet.duration
                copy.time_base, copy.is_keyframe = packet.time_base, packet.is_keyframe
                if packet.is_keyframe and packet.pts is not None:
                    keyframes.append(float(packet.pts * packet.time_base) - start)
                copy.stream = video
                out.mux(copy)
                work.add(0.02)
            elif packet.pts is not None and packet.time_base is not None:
                at = round((float(packet.pts * packet.time_base) - start) * AUDIO_RATE)
                if at + AUDIO_CHUNK <= keep_audio:
                    packet.stream = audio
                    out.mux(packet)
    return sorted(keyframes)


# ---------------------------------------------------------------------------- the seam


def ends_in_scene(last: Planes, spec: JobSpec, style: Style, frames: int) -> Scene | None:
    """Our scene for ``style``, if the source's last frame (of ``frames``) is that scene."""
    scene = Scene(spec, style)
    drawn = frame_planes(SceneBackground(scene, frames / FPS).frame((frames - 1) / FPS))
    gap = 0.0
    for a, b in ((last.y, drawn.y), (last.u, drawn.u), (last.v, drawn.v)):
        gap += float(np.percentile(np.abs(a[::4, ::4].astype(np.int16) - b[::4, ::4]), 80))
    return scene if gap < SAME_SCENE else None


def next_segment(spec: JobSpec, style: Style, last: Planes, frames: int) -> tuple[Segment, bool]:
    """The new segment after a source of ``frames`` ending in ``last``; and whether it
    continues the source's scene (else it starts from ``last`` as a reference image)."""
    seconds, t0 = spec.segment_seconds, frames / FPS
    scene = None
    if spec.source_prompt:
        old = parse_prompt(spec.source_prompt, spec.seed)
        scene = ends_in_scene(last, spec, old, frames)
        if scene is not None and old != style:
            scene = Scene(spec, style)  # same seed, same layout: the new prompt's look
    if scene is None:
        return scene_segment(spec, style, seconds=seconds, t0=t0, image=last), False
    segment = scene_segment(spec, style, seconds=seconds, t0=t0, scene=scene)
    segment.intro = Planes(*(p.astype(np.int16) for p in (last.y, last.u, last.v)))
    segment.intro_frames = min(FPS, seconds * FPS // 3)
    return segment, True


class SeamSound:
    """The sound: the source's (``read``) until ``join``, the new soundscape crossfading
    in over the last ``CROSSFADE`` samples before it. ``fade_source``: fade the source's
    sound out under the crossfade (ours already fades out at its end); it may be set
    until the crossfade is first read."""

    def __init__(
        self, read: Callable[[int, int], Arr], join: int, total: int, style: Style, seed: int
    ) -> None:
        self.read, self.join, self.fade_source = read, join, True
        self.mix_from = max(0, join - CROSSFADE)
        self.sound = Soundscape(style, seed, total / AUDIO_RATE, start=self.mix_from)

    def block(self, start: int, n: int) -> Arr:
        out = self.read(start, n) if start < self.join else np.zeros((2, n), np.float32)
        lo = max(start, self.mix_from)
        if lo < start + n:
            ramp = np.arange(lo, start + n, dtype=np.float32) - self.mix_from
            ramp = np.clip(ramp / CROSSFADE, 0.0, 1.0)
            part = out[:, lo - start :]
            if self.fade_source:
                part *= 1.0 - ramp
            part += self.sound.block(lo, start + n - lo) * ramp
        return out


class SoundWriter:
    """Encodes the sound from sample ``position`` to ``total`` as the picture advances, and
    muxes its packets but those before ``keep_from`` (the source's own cover them)."""

    def __init__(
        self,
        out: Any,
        audio: Any,
        block: Callable[[int, int], Arr],
        position: int,
        keep_from: int,
        total: int,
    ) -> None:
        self.out, self.audio, self.block = out, audio, block
        self.position, self.keep_from, self.total = position, keep_from, total

    def until(self, end: int) -> None:
        while self.position < min(end, self.total):
            n = min(AUDIO_CHUNK, self.total - self.position)
            self._mux(self.audio.encode(audio_frame(self.block(self.position, n), self.position)))
            self.position += n

    def close(self) -> None:
        self.until(self.total)
        self._mux(self.audio.encode(None))

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            # With no source packets in the file (keep_from 0) the encoder's priming
            # packet stays too.
            if not self.keep_from or (packet.pts or 0) >= self.keep_from:
                self.out.mux(packet)


# ---------------------------------------------------------------------------- render


def render_extend(spec: JobSpec, files: Assets, progress: Callable[[int], None]) -> None:
    assert spec.source_video is not None
    progress(0)
    style = parse_prompt(spec.prompt, spec.seed)
    w, h = spec.width, spec.height
    new_frames = spec.segment_seconds * FPS
    with (
        SourceVideo(spec.source_video) as source,
        tempfile.TemporaryFile(dir=files.video.parent, prefix=".extend-audio-") as scratch,
        open_output(files.video) as out,
    ):
        video, audio = add_streams(out, w, h)
        video.codec_context.open()  # their parameter sets decide how the source goes in
        audio.codec_context.open()
        remux = remux_refusal(source, video, audio) is None
        frames = source.frames if remux else (spec.seconds - spec.segment_seconds) * FPS
        join = frames * SAMPLES_PER_FRAME
        total = join + new_frames * SAMPLES_PER_FRAME
        previews = Previews(w, h, 0, frames=frames + new_frames)
        read: Callable[[int, int], Arr]
        if remux:
            work = Work(0.2 * frames + 20 + new_frames, progress)
            # The source's AAC packets stay up to a frame boundary before the crossfade.
            keep = max(0, (join - CROSSFADE) // AUDIO_CHUNK * AUDIO_CHUNK)
            keyframes = copy_source(source, out, video, audio, keep, work)
            last = _source_previews(source, previews, frames, keyframes, work)
            start = max(0, keep - LEAD)
            read = _reader(decode_audio_span(source.path, start, join), start)
        else:
            work = Work(1.1 * frames + 20 + new_frames, progress)
            keep = start = 0
            read = SourceAudio(source.path, scratch, until=join).read
        sound = SeamSound(read, join, total, style, spec.seed)
        writer = SoundWriter(out, audio, sound.block, start, keep, total)
        if not remux:
            last = _reencode_source(source, out, video, previews, frames, work, writer)
        segment, continues = next_segment(spec, style, last, frames)
        sound.fade_source = not continues
        work.add(20)
        for k in range(new_frames):
            frame = segment.frame(k)
            previews.offer(frames + k, frame_planes(frame))
            frame.pts = frames + k
            out.mux(video.encode(frame))
            writer.until((frames + k + 1) * SAMPLES_PER_FRAME)
            work.add(1)
        out.mux(video.encode(None))
        writer.close()
    progress(98)
    previews.save(files.thumbnail, files.spritesheet)
    progress(100)


def _reader(samples: Arr, start: int) -> Callable[[int, int], Arr]:
    """Reads of ``samples`` (which begin at sample ``start``), silence beyond them."""

    def read(at: int, n: int) -> Arr:
        out = np.zeros((2, n), np.float32)
        lo, hi = max(at, start), min(at + n, start + samples.shape[1])
        if lo < hi:
            out[:, lo - at : hi - at] = samples[:, lo - start : hi - start]
        return out

    return read


def _source_previews(
    source: SourceVideo, previews: Previews, frames: int, keyframes: list[float], work: Work
) -> Planes:
    """Offer the source's frames the previews need; return its last frame."""
    wanted = [i for i in previews.wanted() if i < frames]
    indices = sorted({*wanted, frames - 1})
    conform = Conform((source.width, source.height), (source.width, source.height))
    decoded = source.decoded
    last: Planes | None = None
    for index, planes in zip(
        indices,
        source.frames_at(
            [i / FPS for i in indices], conform, keyframes=keyframes, window=WINDOW, sparse=True
        ),
        strict=True,
    ):
        previews.offer(index, planes)
        last = planes
        work.add(0.15 * (source.decoded - decoded))
        decoded = source.decoded
    assert last is not None
    return last


def _reencode_source(
    source: SourceVideo,
    out: Any,
    video: Any,
    previews: Previews,
    frames: int,
    work: Work,
    sound: SoundWriter,
) -> Planes:
    """Encode the source conformed to the size and to ``frames`` at 24 fps, and its sound
    alongside up to the crossfade; return its last frame."""
    w, h = video.codec_context.width, video.codec_context.height
    conform = Conform((source.width, source.height), (w, h))
    # The crossfade waits for the seam to be decided (at the last frame).
    before_crossfade = (frames * SAMPLES_PER_FRAME - CROSSFADE) // AUDIO_CHUNK * AUDIO_CHUNK
    last: Planes | None = None
    times = [i / FPS for i in range(frames)]
    for index, planes in enumerate(source.frames_at(times, conform, window=WINDOW)):
        frame = av.VideoFrame(w, h, "yuv420p")
        dst = frame_planes(frame)
        dst.y[:], dst.u[:], dst.v[:] = planes.y, planes.u, planes.v
        previews.offer(index, planes)
        frame.pts = index
        out.mux(video.encode(frame))
        sound.until(min((index + 1) * SAMPLES_PER_FRAME, before_crossfade))
        last = planes
        work.add(1.1)
    assert last is not None
    return last
