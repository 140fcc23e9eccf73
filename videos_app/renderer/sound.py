"""The soundtrack: an ambient pad and a texture chosen from the scene, streamed in blocks."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Final

import av
import numpy as np

from .encode import audio_frame
from .prompt import Style
from .spec import AUDIO_CHUNK, AUDIO_RATE, Arr


class Soundscape:
    """A deterministic ambient track: a slow two-chord pad over a texture from the scene.

    The pad and the noise are precomputed loops (every partial a whole number of cycles
    per loop, so they repeat seamlessly); a block only looks them up and adds envelopes
    and short events. Every block is a pure function of its position, so the track streams.
    """

    LOOP: Final = 1 << 17  # 2.7 s
    BLOCK: Final = 8 * AUDIO_CHUNK

    def __init__(self, style: Style, seed: int, seconds: float, *, start: int = 0) -> None:
        """``seconds``: the whole track (its fades); ``start``: the first sample handed out
        (an extension continues a track from the source's end)."""
        rng = np.random.default_rng([seed, 5])
        self.seed, self.total, self.speed = seed, round(seconds * AUDIO_RATE), style.speed
        texture = {"sea": "waves", "desert": "wind", "snow": "wind", "city": "pulse"}
        self.texture = texture.get(style.ground, "shimmer" if style.ground == "lunar" else "birds")
        if style.sky_name == "fire":
            self.texture = "crackle"
        elif style.sky_name == "night" and self.texture == "birds":
            self.texture = "crickets"
        root = 110.0 * 2 ** (int(rng.integers(0, 7)) / 12)
        major = ((0, 4, 7, 11, 14), (-3, 0, 4, 9, 12))
        minor = ((0, 3, 7, 10, 15), (-4, 0, 3, 8, 12))
        self.chords = [
            self._pad(rng, root, notes) for notes in (minor if style.sky.minor else major)
        ]
        self.chord_period = 8.0 / style.speed
        cutoff = {"waves": 700.0, "wind": 900.0, "crackle": 160.0}.get(self.texture, 500.0)
        self.noise = np.stack([self._noise(rng, cutoff) for _ in range(2)])
        self.events = self._events(rng, seconds)
        self.cache: dict[int, Arr] = {}
        self.first_live = 0  # events before this index are over (blocks come in order)
        self.buffer = np.zeros((2, 0), np.float32)
        self.position = start  # first sample not yet handed out

    def _pad(self, rng: np.random.Generator, root: float, notes: Sequence[int]) -> Arr:
        """One chord as a stereo loop: soft partials with a slow tremolo each."""
        phase = np.arange(self.LOOP, dtype=np.float32) * np.float32(2 * math.pi / self.LOOP)
        cycles = self.LOOP / AUDIO_RATE  # partial k completes k cycles per loop
        out = np.zeros((2, self.LOOP), np.float32)
        for semi in notes:
            k = round(root * 2 ** (semi / 12) * cycles)
            p0, pan = rng.random() * 6.3, 0.15 + 0.7 * rng.random()
            wave = np.sin(k * phase + p0) + 0.25 * np.sin(2 * k * phase + 2 * p0)
            wave *= 0.6 + 0.4 * np.sin(int(rng.integers(1, 4)) * phase + p0)
            out[0] += wave * (1.0 - pan) * 0.05
            out[1] += wave * pan * 0.05
        return out

    def _noise(self, rng: np.random.Generator, cutoff: float) -> Arr:
        spectrum = np.fft.rfft(rng.standard_normal(self.LOOP))
        freqs = np.fft.rfftfreq(self.LOOP, 1.0 / AUDIO_RATE)
        shape = 1.0 / (1.0 + (freqs / cutoff) ** 2) * (freqs > 30)
        if self.texture == "wind":
            shape *= np.exp(-(((np.log(freqs + 1) - math.log(500)) / 0.6) ** 2))
        loop = np.fft.irfft(spectrum * shape, self.LOOP)
        return (loop / (np.sqrt(np.mean(loop**2)) + 1e-9)).astype(np.float32)

    def _events(self, rng: np.random.Generator, seconds: float) -> list[tuple[int, str, float]]:
        """(start sample, kind, parameter) for chirps, clicks, kicks and cricket calls."""
        events: list[tuple[int, str, float]] = []
        t = 0.3
        while t < seconds and self.texture in ("birds", "crackle", "pulse", "crickets"):
            at = int(t * AUDIO_RATE)
            if self.texture == "birds":
                f0 = 2400 + 1600 * rng.random()
                for k in range(int(rng.integers(2, 5))):
                    events.append((at + int(k * 0.09 * AUDIO_RATE), "chirp", f0))
                t += (0.8 + 2.0 * rng.random()) / self.speed
            elif self.texture == "crackle":
                events.append((at, "click", 0.2 + 0.8 * rng.random()))
                t += rng.exponential(0.09) / self.speed
            elif self.texture == "pulse":
                events.append((at, "kick", 1.0))
                t += 60.0 / (92.0 * self.speed)
            else:
                events.append((at, "cricket", 4300 + 600 * rng.random()))
                t += 0.9 + 0.8 * rng.random()
        return events

    def _event_wave(self, index: int) -> Arr:
        _at, kind, a = self.events[index]
        length = {"chirp": 0.07, "click": 0.012, "kick": 0.3, "cricket": 0.35}[kind]
        tau = np.arange(int(length * AUDIO_RATE)) / AUDIO_RATE
        if kind == "chirp":  # a rising whistle
            phase = 2 * math.pi * (a * tau + 0.35 * a * tau**2 / (2 * length))
            wave = np.sin(phase) * np.sin(math.pi * tau / length) ** 2 * 0.05
        elif kind == "click":  # a crackle: a tiny decaying noise burst
            noise = np.random.default_rng([self.seed, 9, index]).standard_normal(len(tau))
            wave = noise * np.exp(-tau / 0.002) * 0.12 * a
        elif kind == "kick":  # a soft kick drum: a falling sine
            phase = 2 * math.pi * (45 * tau + 65 * 0.04 * (1 - np.exp(-tau / 0.04)))
            wave = np.sin(phase) * np.exp(-tau / 0.09) * 0.35
        else:  # a cricket: a pulsed high tone
            gate = (np.sin(2 * math.pi * 28 * tau) > 0.2) * np.sin(math.pi * tau / length)
            wave = np.sin(2 * math.pi * a * tau) * gate * 0.025
        return wave.astype(np.float32)

    def block(self, start: int, n: int) -> Arr:
        """Samples start..start+n as float32 (2, n)."""
        t = ((start + np.arange(n)) / AUDIO_RATE).astype(np.float32)
        idx = (start + np.arange(n)) % self.LOOP
        mix = 0.5 + 0.5 * np.cos(np.float32(2 * math.pi / self.chord_period) * t)
        out = self.chords[0][:, idx] * mix + self.chords[1][:, idx] * (1.0 - mix)
        noise = self.noise[:, idx]
        speed = np.float32(2 * math.pi * self.speed)
        if self.texture == "waves":
            swell = 0.5 + 0.5 * np.sin(speed * 0.15 * t)
            swell2 = 0.5 + 0.5 * np.sin(speed * 0.09 * t + 1.3)
            out += noise * (0.02 + 0.16 * (swell**3 + 0.5 * swell2**2))
        elif self.texture == "wind":
            out += noise * (0.03 + 0.08 * (0.5 + 0.5 * np.sin(speed * 0.11 * t)) ** 2)
        elif self.texture == "crackle":
            out += noise * 0.05
        elif self.texture == "shimmer":
            out += noise * 0.01 + self.chords[0][::-1, (idx * 4) % self.LOOP] * 0.15
        else:
            out += noise * 0.012
        self._add_events(out, start, n)
        end = self.total / AUDIO_RATE
        fade = np.clip(np.minimum(t / 0.4, (end - t) / 0.8), 0.0, 1.0)
        return (np.tanh(out * fade * 1.5) / 1.5).astype(np.float32)

    def _add_events(self, out: Arr, start: int, n: int) -> None:
        events = self.events
        # A long track (an extension of a long source) starts far in: skip what is over.
        while self.first_live < len(events) and events[self.first_live][0] + AUDIO_RATE < start:
            self.cache.pop(self.first_live, None)
            self.first_live += 1
        for index in range(self.first_live, len(events)):
            at = events[index][0]
            if at >= start + n:
                break
            if at + AUDIO_RATE < start:  # long over
                self.cache.pop(index, None)
                continue
            wave = self.cache.get(index)
            if wave is None:
                wave = self.cache[index] = self._event_wave(index)
            lo, hi = max(at, start), min(at + len(wave), start + n)
            if lo < hi:
                pan = 0.3 + 0.4 * (index * 0.618 % 1.0)
                part = wave[lo - at : hi - at] * 2
                out[0, lo - start : hi - start] += part * (1 - pan)
                out[1, lo - start : hi - start] += part * pan

    def frames_until(self, sample: int) -> Iterator[av.AudioFrame]:
        """AAC-sized frames up to ``sample`` (at most the track's end)."""
        sample = min(sample, self.total)
        while self.position < sample:
            if self.buffer.shape[1] == 0:
                n = min(self.BLOCK, self.total - self.position)
                self.buffer = self.block(self.position, n)
            n = min(AUDIO_CHUNK, self.buffer.shape[1])
            chunk, self.buffer = self.buffer[:, :n], self.buffer[:, n:]
            frame = audio_frame(chunk, self.position)
            self.position += n
            yield frame
