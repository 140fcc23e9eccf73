"""Edits: effects named in the prompt applied to a source video. Child-side, no Django.

The result has the spec's size and length (``seconds`` whole seconds at 24 fps): the
source is scaled to cover the size and centre-cropped, and its timeline is conformed to
the length (a longer source is cut, a shorter one holds its last frame).

Words of the prompt pick effects (the vocabulary shown on the edit page, see
``EFFECT_WORDS``); several combine. ``read_edit`` says what a prompt will apply and what
it did not understand. A prompt with none of them gets the default (a warm grade, a
vignette and the prompt as a caption): the studio runs one only when it was asked for.
Per frame the work is cheap and vectorized: the colour effects are composed into one
lookup table per plane (Y, U, V), blur and pixelation go through libswscale (scale down,
scale back up), the vignette is one precomputed multiplier, flips are slices.

Frames stream: they are decoded in chunks of at most ``WINDOW`` and converted once.
Reverse walks the source backwards chunk by chunk, each chunk decoded forward from the
keyframe before it (so a long GOP is decoded more than once, never held whole).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

import av
import numpy as np

from videos_app.providers.base import Assets, JobSpec

from .backgrounds import frame_planes
from .encode import Previews, add_streams, audio_frame, open_output
from .scene import Planes
from .source import Conform, SourceAudio, SourceVideo
from .spec import AUDIO_CHUNK, FPS, SAMPLES_PER_FRAME, Arr
from .text import caption_sprite

# Decoded source frames kept at once: about 64 MiB of planes at the largest size.
WINDOW_BYTES: Final = 64 * 1024 * 1024

# Each effect and the phrases that ask for it (whole words, case-insensitive). Opposites
# (warm/cool, bright/dark, ...) are pairs: the one named first wins.
EFFECT_WORDS: Final[dict[str, str]] = {
    "mono": r"black[\s-]*(?:and|&|n)[\s-]*white|monochrome|gr[ae]yscale|b\s*&\s*w",
    "sepia": r"sepia|vintage|old[\s-]+film",
    "warm": r"warm(?:er)?|golden|sunset",
    "cool": r"cool(?:er)?|cold(?:er)?|blue",
    "bright": r"bright(?:er|en)?",
    "dark": r"dark(?:er|en)?|moody",
    "contrast": r"high[\s-]+contrast|punchy",
    "faded": r"faded|washed[\s-]+out",
    "vivid": r"vivid|saturated",
    "muted": r"muted|desaturated",
    "invert": r"invert(?:ed)?|negative",
    "mirror": r"mirror(?:ed)?|flip(?:ped)?\s+horizontally",
    "upside_down": r"upside[\s-]+down|flip(?:ped)?\s+vertically",
    "reverse": r"reverse[d]?|backwards?|rewind",
    "slow": r"slow[\s-]*mo(?:tion)?",
    "fast": r"fast[\s-]+forward|speed(?:ed)?\s+up|time[\s-]*lapse",
    "blur": r"blur(?:red|ry)?|dreamy|soft[\s-]+focus",
    "vignette": r"vignett(?:e|ed)",
    "pixelate": r"pixel(?:ate|ated|ation)|8[\s-]*bit|retro[\s-]+game",
}
OPPOSITES: Final = (("warm", "cool"), ("bright", "dark"), ("contrast", "faded"))
OPPOSITES_TOO: Final = (("vivid", "muted"), ("slow", "fast"))
# "Quoted words" (straight or curly, double or single quotes) become the caption. A
# single quote opens only after a space or punctuation and closes only before one, so
# the apostrophes of "don't" or "the kids' film" stay words.
QUOTED: Final = re.compile(
    r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)|\u2018([^\u2019]+)\u2019"
)


# What each effect is called when the studio says what it will apply.
EFFECT_LABELS: Final[dict[str, str]] = {
    "mono": "black and white",
    "sepia": "sepia",
    "warm": "warm grade",
    "cool": "cool grade",
    "bright": "brighter",
    "dark": "darker",
    "contrast": "high contrast",
    "faded": "faded",
    "vivid": "vivid colour",
    "muted": "muted colour",
    "invert": "inverted",
    "mirror": "mirrored",
    "upside_down": "upside down",
    "reverse": "reversed",
    "slow": "slow motion",
    "fast": "fast forward",
    "blur": "blur",
    "vignette": "vignette",
    "pixelate": "pixelated",
}
# Words that only join the effects up ("make it look more ... and add a ..."): not
# reported as misunderstood.
FILLER: Final = frozenset(
    """a an the and or but then also plus with without of to in on into onto at as by for
    from it its this that these those me my our us please make made makes look looks looking
    like more less much very really bit little slightly some add adds apply give put turn
    set use keep let have has be is are was were should would could can will just only
    everything whole all over effect effects filter filters style styled feel vibe video
    clip footage shot scene caption captions title titles text saying says say reads read
    write words overlay""".split()  # noqa: SIM905 (a word list reads best as words)
)
# The look of an edit that named nothing it understands, used only when asked for.
DEFAULT_EFFECTS: Final = frozenset({"warm", "vignette"})


@dataclass(frozen=True)
class EditReading:
    """What a prompt asks of the edit, as the studio understands it."""

    effects: tuple[str, ...]  # in the order the prompt names them
    caption: str
    unknown: tuple[str, ...]  # words that are neither effects nor filler

    @property
    def understood(self) -> bool:
        return bool(self.effects or self.caption)

    @property
    def applied(self) -> list[str]:
        """Human labels of what will be applied, the caption last."""
        labels = [EFFECT_LABELS[name] for name in self.effects]
        return labels + ([f"caption \u2018{self.caption}\u2019"] if self.caption else [])


@dataclass(frozen=True)
class Edit:
    effects: frozenset[str] = field(default_factory=frozenset)
    caption: str = ""

    @property
    def speed(self) -> float:
        return 0.5 if "slow" in self.effects else 2.0 if "fast" in self.effects else 1.0


def read_edit(prompt: str) -> EditReading:
    """The effects and caption the prompt asks for (see ``EFFECT_WORDS``, ``QUOTED``), and
    the words it names that are neither."""
    quoted = [next(g for g in m.groups() if g is not None) for m in QUOTED.finditer(prompt)]
    caption = " / ".join(" ".join(q.split()) for q in quoted if q.strip())
    text = QUOTED.sub(" ", prompt).lower()
    first: dict[str, int] = {}
    spans: list[tuple[int, int]] = []
    for name, pattern in EFFECT_WORDS.items():
        matches = list(re.finditer(rf"(?<![\w&])(?:{pattern})(?![\w&])", text))
        if matches:
            first[name] = matches[0].start()
            spans += [m.span() for m in matches]
    for a, b in (*OPPOSITES, *OPPOSITES_TOO):
        if a in first and b in first:
            del first[b if first[a] < first[b] else a]
    if "sepia" in first:
        first.pop("mono", None)  # sepia is a toned black and white
    rest = "".join(" " if any(a <= i < b for a, b in spans) else c for i, c in enumerate(text))
    unknown = dict.fromkeys(
        word
        for word in re.findall(r"[a-z][a-z'\u2019-]*", rest)
        if word.strip("'\u2019-") not in FILLER and len(word) > 1
    )
    return EditReading(tuple(sorted(first, key=first.__getitem__)), caption, tuple(unknown))


def parse_edit(prompt: str) -> Edit:
    """The edit the prompt asks for; one that names nothing understood gets the default
    look (a warm grade, a vignette and the prompt as a caption). The studio refuses such a
    prompt at create time unless the caller asked for the default (``read_edit``)."""
    reading = read_edit(prompt)
    if not reading.understood:
        return Edit(DEFAULT_EFFECTS, " ".join(prompt.split()))
    return Edit(frozenset(reading.effects), reading.caption)


# ---------------------------------------------------------------------------- colour


def colour_tables(effects: frozenset[str]) -> tuple[Arr, Arr, Arr] | None:
    """The colour effects as one uint8 lookup table per plane, or None (no colour change).

    Computed on limited-range BT.709 values normalised to luma 0..1 and chroma -0.5..0.5,
    in a fixed order: grade, exposure, contrast, saturation, toning, inversion.
    """
    colour = {"warm", "cool", "bright", "dark", "contrast", "faded", "vivid", "muted"}
    colour |= {"mono", "sepia", "invert"}
    if not effects & colour:
        return None
    codes = np.arange(256, dtype=np.float64)
    luma = (codes - 16.0) / 219.0
    u = (codes - 128.0) / 224.0
    v = (codes - 128.0) / 224.0
    if "warm" in effects:
        u, v = u - 0.05, v + 0.06
        luma = luma * 1.02
    if "cool" in effects:
        u, v = u + 0.06, v - 0.045
    if "bright" in effects:
        luma = np.clip(luma, 0.0, None) ** 0.75 * 1.04 + 0.02
    if "dark" in effects:
        luma = np.clip(luma, 0.0, None) ** 1.35 * 0.82
    chroma = 1.0
    if "contrast" in effects:
        luma, chroma = 0.5 + (luma - 0.5) * 1.35, chroma * 1.12
    if "faded" in effects:
        luma, chroma = 0.13 + luma * 0.74, chroma * 0.7
    if "vivid" in effects:
        chroma *= 1.55
    if "muted" in effects:
        chroma *= 0.4
    u, v = u * chroma, v * chroma
    if "mono" in effects:
        u, v = u * 0.0, v * 0.0
    if "sepia" in effects:  # old film: lifted blacks, softer whites, a brown tone
        luma = 0.07 + np.clip(luma, 0.0, 1.05) * 0.86
        u, v = u * 0.0 - 0.055, v * 0.0 + 0.05
    if "invert" in effects:
        luma, u, v = 1.0 - luma, -u, -v
    tables = (16.0 + 219.0 * luma, 128.0 + 224.0 * u, 128.0 + 224.0 * v)
    y_table, u_table, v_table = (np.clip(np.rint(t), 0, 255).astype(np.uint8) for t in tables)
    return y_table, u_table, v_table


def _vignette(w: int, h: int, strength: float) -> Arr:
    """The factor (x 256) for each pixel: 1 in the middle, falling toward the corners."""
    ys = (np.arange(h, dtype=np.float32) + 0.5) / h * 2 - 1
    xs = (np.arange(w, dtype=np.float32) + 0.5) / w * 2 - 1
    r = np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2) / np.sqrt(2.0)
    edge = np.clip((r - 0.3) / 0.7, 0.0, 1.0)
    factor = 1.0 - strength * edge * edge * (3.0 - 2.0 * edge)
    return np.rint(factor * 256).astype(np.uint16)


class Vignette:
    """Darkened edges: Y and chroma pulled toward black by a precomputed factor (x/256)."""

    def __init__(self, width: int, height: int, strength: float = 0.6) -> None:
        self.y, self.c = (
            _vignette(width, height, strength),
            _vignette(width // 2, height // 2, strength),
        )
        # y' = 16 + (y - 16) * m / 256  ==  (y * m + 16 * (256 - m)) / 256, in uint16;
        # chroma likewise around 128.
        self.y_bias = (16 * (256 - self.y.astype(np.int32))).astype(np.uint16)
        self.c_bias = (128 * (256 - self.c.astype(np.int32))).astype(np.uint16)
        self.buffer = np.empty((height, width), np.uint16)
        self.c_buffer = np.empty((height // 2, width // 2), np.uint16)

    def apply(self, p: Planes) -> None:
        for plane, scale, bias, buffer in (
            (p.y, self.y, self.y_bias, self.buffer),
            (p.u, self.c, self.c_bias, self.c_buffer),
            (p.v, self.c, self.c_bias, self.c_buffer),
        ):
            np.multiply(plane, scale, out=buffer)
            buffer += bias
            buffer >>= 8
            plane[:] = buffer


# ---------------------------------------------------------------------------- time


def source_times(edit: Edit, frames: int) -> list[float]:
    """The source time shown by each output frame (the timeline has ``frames`` frames).

    Slow motion plays the first half at half speed; fast forward plays it all twice at
    double speed (it loops); reverse plays the result of those backwards.
    """

    def base(j: int) -> float:
        if edit.speed == 0.5:
            return j / (2 * FPS)
        if edit.speed == 2.0:
            return (2 * j % frames) / FPS
        return j / FPS

    order = range(frames - 1, -1, -1) if "reverse" in edit.effects else range(frames)
    return [base(j) for j in order]


def sample_positions(edit: Edit, start: int, n: int, total: int) -> Arr:
    """The source sample positions (float) for output samples start..start+n: the
    picture's mapping, with sound resampled (an octave down in slow motion, up in fast)."""
    o = np.arange(start, start + n, dtype=np.float64)
    if "reverse" in edit.effects:
        o = total - 1 - o
    if edit.speed == 0.5:
        return o / 2
    if edit.speed == 2.0:
        return (2 * o) % total
    return o


def gather(audio: SourceAudio, positions: Arr) -> Arr:
    """Samples at fractional positions (linear interpolation), as (2, n) float32."""
    if len(positions) == 0:
        return np.zeros((2, 0), np.float32)
    steps = np.diff(positions)
    jumps = np.nonzero(np.abs(steps) > 4)[0]  # a loop's wrap: read each run by itself
    if len(jumps):
        cut = int(jumps[0]) + 1
        return np.concatenate(
            [gather(audio, positions[:cut]), gather(audio, positions[cut:])], axis=1
        )
    lo = int(np.floor(positions.min()))
    span = audio.read(lo, int(np.floor(positions.max())) - lo + 2)
    at = positions - lo
    i0 = np.floor(at).astype(np.intp)
    frac = (at - i0).astype(np.float32)
    return span[:, i0] * (1.0 - frac) + span[:, i0 + 1] * frac


# ---------------------------------------------------------------------------- render


class Effects:
    """Applies an ``Edit`` to conformed frames (all but the flips, done when conforming)."""

    def __init__(self, edit: Edit, width: int, height: int) -> None:
        self.w, self.h = width, height
        self.tables = colour_tables(edit.effects)
        self.vignette = Vignette(width, height) if "vignette" in edit.effects else None
        short = min(width, height)
        self.spatial: list[tuple[tuple[int, int], str]] = []
        if "pixelate" in edit.effects:
            block = max(4, round(short / 48))
            self.spatial.append(((-(-width // block), -(-height // block)), "POINT"))
        if "blur" in edit.effects:
            factor = max(2, round(short / 90))
            self.spatial.append(((width // factor // 2 * 2, height // factor // 2 * 2), "BICUBIC"))
        self.caption = caption_sprite(edit.caption, width, height) if edit.caption else None
        if self.caption is not None and "upside_down" not in edit.effects:
            # Near the top, clear of the label: the bottom of a studio video holds its own
            # caption already (which is at the top once it is upside down).
            sprite, x, _ = self.caption
            self.caption = (sprite, x, round(height * 0.1) // 2 * 2)

    def frame(self, source: Planes) -> av.VideoFrame:
        frame = av.VideoFrame(self.w, self.h, "yuv420p")
        p = frame_planes(frame)
        if self.tables is not None:
            y, u, v = self.tables
            np.take(y, source.y, out=p.y)
            np.take(u, source.u, out=p.u)
            np.take(v, source.v, out=p.v)
        else:
            p.y[:], p.u[:], p.v[:] = source.y, source.u, source.v
        for (sw, sh), up in self.spatial:
            small = frame.reformat(width=sw, height=sh, interpolation="AREA")
            frame = small.reformat(width=self.w, height=self.h, interpolation=up)
            p = frame_planes(frame)
        if self.vignette is not None:
            self.vignette.apply(p)
        if self.caption is not None:
            sprite, x, y0 = self.caption
            sprite.blend(p, x, y0)
        return frame


def window_frames(width: int, height: int) -> int:
    return max(8, min(240, WINDOW_BYTES // (width * height * 3 // 2)))


def render_edit(spec: JobSpec, files: Assets, progress: Callable[[int], None]) -> None:
    assert spec.source_video is not None
    progress(0)
    edit = parse_edit(spec.prompt)
    w, h, total = spec.width, spec.height, spec.seconds * FPS
    effects = Effects(edit, w, h)
    previews = Previews(w, h, spec.seconds)
    samples = total * SAMPLES_PER_FRAME
    with (
        SourceVideo(spec.source_video) as source,
        tempfile.TemporaryFile(dir=files.video.parent, prefix=".edit-audio-") as scratch,
    ):
        # Decoding the sound first is quick (a few % of the job): the picture follows.
        blocks = [0]

        def audio_progress() -> None:
            blocks[0] += 1
            if blocks[0] % 64 == 0:
                progress(min(5, blocks[0] // 64))

        audio = SourceAudio(spec.source_video, scratch, until=samples, on_progress=audio_progress)
        progress(5)
        conform = Conform(
            (source.width, source.height),
            (w, h),
            hflip="mirror" in edit.effects,
            vflip="upside_down" in edit.effects,
        )
        frames: Iterator[Planes] = source.frames_at(
            source_times(edit, total), conform, window=window_frames(w, h)
        )
        with open_output(files.video) as out:
            video, audio_out = add_streams(out, w, h)
            position = 0
            for index, planes in enumerate(frames):
                frame = effects.frame(planes)
                previews.offer(index, frame_planes(frame))
                frame.pts = index
                out.mux(video.encode(frame))
                end = (index + 1) * SAMPLES_PER_FRAME
                while position < end:
                    n = min(AUDIO_CHUNK, samples - position)
                    chunk = gather(audio, sample_positions(edit, position, n, samples))
                    out.mux(audio_out.encode(audio_frame(chunk.astype(np.float32), position)))
                    position += n
                progress(5 + 92 * (index + 1) // total)
            out.mux(video.encode(None))
            out.mux(audio_out.encode(None))
    progress(98)
    previews.save(files.thumbnail, files.spritesheet)
    progress(100)
