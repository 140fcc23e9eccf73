"""The local renderer's remix, extend, edit and characters: real renders, decoded back.

No database: these tests drive ``LocalRenderer`` directly. Sources are short (2-3 s) so
the file stays quick on two cores.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from videos_app.providers.base import Assets, CharacterSpec, JobSpec, ProviderError
from videos_app.providers.local import LocalRenderer, default_timeout
from videos_app.renderer.edit import parse_edit
from videos_app.renderer.encode import add_streams, open_output, tile_frame_index
from videos_app.renderer.extend import remux_refusal
from videos_app.renderer.source import SourceVideo

FPS = 24
RATE = 48_000
SUNSET = "a calm ocean at sunset"


def make_spec(**overrides: object) -> JobSpec:
    fields: dict[str, object] = {
        "video_id": "video_test",
        "prompt": SUNSET,
        "model": "sora-2",
        "width": 1280,
        "height": 720,
        "seconds": 3,
        "seed": 7,
    }
    fields.update(overrides)
    return JobSpec(**fields)  # type: ignore[arg-type]


@dataclass
class Render:
    assets: Assets
    progress: list[int] = field(default_factory=list)

    @property
    def video(self) -> Path:
        return self.assets.video


def render(workdir: Path, **overrides: object) -> Render:
    workdir.mkdir(parents=True, exist_ok=True)
    seen: list[int] = []
    assets = LocalRenderer().run(make_spec(**overrides), workdir=workdir, on_progress=seen.append)
    return Render(assets, seen)


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def sound_of(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(video=0) if packet.size]


def duration(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return float(stream.duration * stream.time_base)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two pictures."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def cover(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """A frame scaled to cover width x height and centre-cropped (what the renderer does)."""
    h, w = frame.shape[:2]
    scale = max(width / w, height / h)
    sw, sh = max(width, round(w * scale / 2) * 2), max(height, round(h * scale / 2) * 2)
    big = np.asarray(Image.fromarray(frame).resize((sw, sh), Image.Resampling.BICUBIC))
    x, y = (sw - width) // 4 * 2, (sh - height) // 4 * 2
    return big[y : y + height, x : x + width]


def top_level_boxes(path: Path) -> list[str]:
    boxes, data, offset = [], path.read_bytes(), 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0] if size == 1 else size
        boxes.append(kind.decode("latin-1"))
        offset += size or len(data)
    return boxes


def make_upload(
    path: Path,
    *,
    size: tuple[int, int] = (640, 480),
    fps: int = 30,
    seconds: float = 3.0,
    audio: bool = True,
) -> Path:
    """An MP4 as a phone or editor might write it: another size, rate and x264 setup,
    44.1 kHz mono sound; a gradient with a yellow bar crossing it."""
    w, h = size
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        sound = out.add_stream("aac", rate=44_100, layout="mono") if audio else None
        yy, xx = np.mgrid[0:h, 0:w]
        count = round(seconds * fps)
        for i in range(count):
            rgb = np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, 96)], -1)
            x = int(w * (0.1 + 0.7 * i / count))
            rgb[h // 3 : h // 3 + h // 4, x : x + w // 12] = (250, 230, 20)
            frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            t = np.arange(round(seconds * 44_100)) / 44_100
            wave = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
            for k in range(0, len(wave), 1024):
                chunk = av.AudioFrame.from_ndarray(
                    wave[None, k : k + 1024].copy(), format="fltp", layout="mono"
                )
                chunk.sample_rate, chunk.pts = 44_100, k
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ops")


@pytest.fixture(scope="module")
def source(work: Path) -> Render:
    """A 3 s 1280x720 studio video: the source of the extensions and edits."""
    return render(work / "source")


@pytest.fixture(scope="module")
def source_frames(source: Render) -> list[np.ndarray]:
    return frames_of(source.video)


@pytest.fixture(scope="module")
def upload(work: Path) -> Path:
    return make_upload(work / "upload.mp4")


# ---------------------------------------------------------------------------- extend


@pytest.fixture(scope="module")
def extension(work: Path, source: Render) -> Render:
    return render(
        work / "extension",
        operation="extend",
        prompt="a calm ocean at night",
        source_prompt=SUNSET,
        source_video=source.video,
        segment_seconds=4,
        seconds=7,
    )


def test_an_extension_is_one_mp4_of_the_total_length(extension: Render) -> None:
    assert abs(duration(extension.video) - 7.0) <= 1 / FPS
    assert len(frames_of(extension.video)) == 7 * FPS
    boxes = top_level_boxes(extension.video)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart kept
    assert sorted(p.name for p in extension.video.parent.iterdir()) == [
        "spritesheet.jpg",
        "thumbnail.webp",
        "video.mp4",
    ]


def test_an_extension_copies_the_source_packets_unchanged(
    source: Render, extension: Render
) -> None:
    original = video_packets(source.video)
    stitched = video_packets(extension.video)
    assert len(original) == 3 * FPS
    assert stitched[: len(original)] == original
    assert len(stitched) == 7 * FPS


def test_an_extension_continues_from_the_source_last_frame(
    source_frames: list[np.ndarray], extension: Render
) -> None:
    frames = frames_of(extension.video)
    n = len(source_frames)
    assert all(np.array_equal(a, b) for a, b in zip(source_frames, frames[:n], strict=False))
    seam = mad(frames[n], source_frames[-1])
    unrelated = mad(frames[-1], source_frames[-1])  # a second later: night, not sunset
    assert seam < 3
    assert unrelated > 20 * seam
    # ... and then moves on to what the new prompt asks for: night is darker and bluer.
    assert frames[-1].mean() < source_frames[-1].mean() - 30


def test_an_extension_has_sound_for_its_whole_length_without_a_gap(
    source: Render, extension: Render
) -> None:
    sound = sound_of(extension.video)
    assert abs(sound.shape[1] / RATE - 7.0) <= 1 / FPS
    join = 3 * RATE
    original = sound_of(source.video)
    # Before the crossfade the source's sound is the source's, bit for bit.
    assert np.array_equal(sound[:, : join - RATE], original[:, : join - RATE])
    # No silent hole at the join (a priming frame would leave 21 ms of near silence).
    windows = [
        float(np.sqrt(np.mean(sound[:, k : k + 480] ** 2)))
        for k in range(join - RATE, join + RATE, 480)
    ]
    assert min(windows) > 0.2 * float(np.median(windows))
    assert float(np.sqrt(np.mean(sound[:, -2 * RATE : -RATE] ** 2))) > 0.005


def test_an_extension_previews_cover_the_whole_video(extension: Render) -> None:
    frames = frames_of(extension.video)
    with Image.open(extension.assets.thumbnail) as thumbnail:
        assert thumbnail.size == (640, 360)
    with Image.open(extension.assets.spritesheet) as sheet:
        assert sheet.size == (800, 450)
        grid = np.asarray(sheet.convert("RGB"), np.float32)
    for tile in (0, 5, 10, 11, 17, 24):  # the source's part, the seam, the new part
        row, col = divmod(tile, 5)
        cell = grid[row * 90 : (row + 1) * 90, col * 160 : (col + 1) * 160]
        diffs = [
            float(
                np.abs(np.asarray(Image.fromarray(f).resize((160, 90)), np.float32) - cell).mean()
            )
            for f in frames
        ]
        assert abs(int(np.argmin(diffs)) - tile_frame_index(tile, 7 * FPS)) <= 1
        assert min(diffs) < 6


def test_an_extension_reports_progress_over_the_whole_job(extension: Render) -> None:
    assert extension.progress == sorted(set(extension.progress))
    assert extension.progress[-1] == 100
    assert len(extension.progress) > 40


def test_an_extension_of_an_extension_copies_again(work: Path, extension: Render) -> None:
    again = render(
        work / "again",
        operation="extend",
        prompt="a calm ocean at night",
        source_prompt="a calm ocean at night",
        source_video=extension.video,
        segment_seconds=4,
        seconds=11,
        width=1280,
        height=720,
    )
    assert video_packets(again.video)[: 7 * FPS] == video_packets(extension.video)
    assert abs(duration(again.video) - 11.0) <= 1 / FPS
    frames = frames_of(again.video)
    assert mad(frames[7 * FPS], frames[7 * FPS - 1]) < 3


def test_a_source_that_is_not_our_scene_continues_as_a_picture(work: Path, source: Render) -> None:
    """An edit is encoded like our videos (its packets are copied) but its last frame is
    not the scene its prompt draws: the segment starts from that frame as a picture."""
    grey = render(
        work / "grey", operation="edit", prompt="black and white", source_video=source.video
    )
    result = render(
        work / "grey-extension",
        operation="extend",
        prompt="a calm ocean at sunset",
        source_prompt="black and white",
        source_video=grey.video,
        segment_seconds=4,
        seconds=7,
    )
    assert video_packets(result.video)[: 3 * FPS] == video_packets(grey.video)
    frames = frames_of(result.video)
    assert mad(frames[3 * FPS], frames[3 * FPS - 1]) < 3
    # A second in, the picture is still the grey one (zooming), not a coloured sunset.
    rgb = frames[4 * FPS].astype(np.int16)
    assert np.median(np.abs(rgb[..., 0] - rgb[..., 2])) < 4


def test_an_uploaded_source_of_another_size_and_encoding_is_re_encoded(
    work: Path, upload: Path
) -> None:
    result = render(
        work / "upload-extension",
        operation="extend",
        prompt="balloons over the hills",
        source_video=upload,
        segment_seconds=4,
        seconds=7,
    )
    frames = frames_of(result.video)
    assert len(frames) == 7 * FPS
    assert frames[0].shape == (720, 1280, 3)
    original = frames_of(upload)
    # The upload, scaled to cover 1280x720, centre-cropped, conformed to 24 fps.
    assert mad(frames[0], cover(original[0], 1280, 720)) < 8
    assert mad(frames[48], cover(original[60], 1280, 720)) < 8
    assert mad(frames[3 * FPS], frames[3 * FPS - 1]) < 3  # the seam
    assert abs(sound_of(result.video).shape[1] / RATE - 7.0) <= 1 / FPS


def test_only_a_source_encoded_like_ours_is_copied(work: Path, source: Render) -> None:
    same_size = make_upload(work / "foreign.mp4", size=(1280, 720), fps=24, seconds=0.5)
    for path, refusal in ((source.video, None), (same_size, "other H.264 parameters")):
        with SourceVideo(path) as video, open_output(work / "probe.mp4") as out:
            streams = add_streams(out, 1280, 720)
            for stream in streams:
                stream.codec_context.open()
            reason = remux_refusal(video, *streams)
        assert reason is None if refusal is None else refusal in (reason or "")


# ---------------------------------------------------------------------------- edit


def edit(work: Path, name: str, prompt: str, **overrides: object) -> list[np.ndarray]:
    fields: dict[str, object] = {"operation": "edit", "prompt": prompt}
    fields.update(overrides)
    if "source_video" not in fields:
        fields["source_video"] = work / "source" / "video.mp4"
    result = render(work / name, **fields)
    assert result.progress[-1] == 100
    return frames_of(result.video)


def test_black_and_white_removes_the_colour(
    work: Path, source: Render, source_frames: list[np.ndarray]
) -> None:
    frames = edit(work, "bw", "black and white please")
    assert len(frames) == len(source_frames)
    assert frames[0].shape == source_frames[0].shape
    for frame in (frames[10], frames[-1]):
        rgb = frame.astype(np.int16)
        assert np.abs(rgb[..., 0] - rgb[..., 1]).mean() < 1
        assert np.abs(rgb[..., 2] - rgb[..., 1]).mean() < 1
    sound = sound_of(work / "bw" / "video.mp4")
    assert abs(sound.shape[1] / RATE - 3.0) <= 1 / FPS
    original = sound_of(source.video)
    assert abs(np.sqrt(np.mean(sound**2)) - np.sqrt(np.mean(original**2))) < 0.01


def test_mirror_flips_the_frames(
    work: Path, source: Render, source_frames: list[np.ndarray]
) -> None:
    frames = edit(work, "mirror", "mirror")
    assert mad(frames[30], source_frames[30][:, ::-1]) < 2
    assert mad(frames[30], source_frames[30]) > 10


def test_reverse_plays_backwards_sound_included(
    work: Path, source: Render, source_frames: list[np.ndarray]
) -> None:
    frames = edit(work, "reverse", "play it backwards")
    assert mad(frames[0], source_frames[-1]) < 2
    assert mad(frames[-1], source_frames[0]) < 2
    sound, original = sound_of(work / "reverse" / "video.mp4"), sound_of(source.video)
    assert sound.shape == original.shape
    middle = slice(RATE // 2, -RATE // 2)
    forward = np.corrcoef(sound[0, middle], original[0, middle])[0, 1]
    backward = np.corrcoef(sound[0, middle], original[0, ::-1][middle])[0, 1]
    assert backward > 0.9 > abs(forward) + 0.5


def test_invert_turns_the_picture_negative(work: Path, source_frames: list[np.ndarray]) -> None:
    frames = edit(work, "invert", "invert the colours")
    assert abs(frames[40].mean() - (255 - source_frames[40].mean())) < 4


def test_slow_motion_keeps_the_length_and_plays_the_first_half(
    work: Path, source_frames: list[np.ndarray]
) -> None:
    frames = edit(work, "slow", "slow motion")
    assert len(frames) == len(source_frames)
    assert mad(frames[48], source_frames[24]) < 2
    assert mad(frames[-1], source_frames[len(source_frames) // 2 - 1]) < 2


def test_a_prompt_without_effect_words_gets_the_default_look(
    work: Path, source_frames: list[np.ndarray]
) -> None:
    frames = edit(work, "default", "make it look nice")
    assert mad(frames[40], source_frames[40]) > 8
    # warmer: more red against blue than the source
    r, _, b = frames[40].reshape(-1, 3).mean(axis=0)
    r0, _, b0 = source_frames[40].reshape(-1, 3).mean(axis=0)
    assert r - b > r0 - b0 + 5


def test_the_edit_vocabulary() -> None:
    assert parse_edit("make it look nice").effects == {"warm", "vignette"}
    assert parse_edit("make it look nice").caption == "make it look nice"
    edit_ = parse_edit('Sepia, slow-mo and a vignette, upside down; caption "The End"')
    assert edit_.effects == {"sepia", "slow", "vignette", "upside_down"}
    assert edit_.caption == "The End"
    assert parse_edit("cool and warm, high contrast, fast forward").effects == {
        "cool",
        "contrast",
        "fast",
    }
    assert parse_edit("desaturated 8-bit").effects == {"muted", "pixelate"}
    assert parse_edit("Black & white, flip horizontally, rewind").effects == {
        "mono",
        "mirror",
        "reverse",
    }
    # Words inside the quoted caption are text, not effects.
    assert parse_edit("caption “warm welcome”").effects == frozenset()
    # Single quotes too, straight or curly; apostrophes are not quotes.
    assert parse_edit("vignette, caption 'Final cut'") == parse_edit('vignette "Final cut"')
    assert parse_edit("vignette, caption 'Final cut'").caption == "Final cut"
    assert parse_edit("sepia, caption \u2018Day one\u2019").caption == "Day one"
    assert parse_edit("don't go dark, it's the kids' film").caption == ""
    assert parse_edit("don't go dark, it's the kids' film").effects == {"dark"}


def test_an_upload_of_another_size_is_scaled_and_cropped(work: Path, upload: Path) -> None:
    frames = edit(
        work, "portrait", "upside down", source_video=upload, width=720, height=1280, seconds=3
    )
    assert len(frames) == 3 * FPS
    assert frames[0].shape == (1280, 720, 3)
    original = frames_of(upload)  # 640x480 at 30 fps: frame 24 at 24 fps is its frame 30
    assert mad(frames[24], cover(original[30], 720, 1280)[::-1]) < 8
    assert abs(sound_of(work / "portrait" / "video.mp4").shape[1] / RATE - 3.0) <= 1 / FPS


def test_a_source_without_sound_gets_a_silent_track(work: Path) -> None:
    silent = make_upload(work / "silent.mp4", size=(1280, 720), fps=24, seconds=2.0, audio=False)
    edit(work, "silent-edit", "sepia", source_video=silent, seconds=2)
    sound = sound_of(work / "silent-edit" / "video.mp4")
    assert abs(sound.shape[1] / RATE - 2.0) <= 1 / FPS
    assert float(np.abs(sound).max()) < 1e-3


def test_a_source_that_does_not_decode_is_source_unreadable(work: Path) -> None:
    broken = work / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 100)
    for operation in ("edit", "extend"):
        workdir = work / f"broken-{operation}"
        workdir.mkdir()
        spec = make_spec(operation=operation, source_video=broken, segment_seconds=4, seconds=7)
        with pytest.raises(ProviderError) as caught:
            LocalRenderer().run(spec, workdir=workdir, on_progress=lambda p: None)
        assert caught.value.code == "source_unreadable"
        assert list(workdir.iterdir()) == []


def test_an_extension_without_a_source_is_an_invalid_spec(work: Path) -> None:
    for fields in ({"source_video": None}, {"segment_seconds": 2}):
        workdir = work / f"invalid-{len(list(work.iterdir()))}"
        workdir.mkdir()
        spec = make_spec(
            **{
                "operation": "extend",
                "source_video": work / "upload.mp4",
                "segment_seconds": 4,
                "seconds": 7,
                **fields,
            }
        )
        with pytest.raises(ProviderError) as caught:
            LocalRenderer().run(spec, workdir=workdir, on_progress=lambda p: None)
        assert caught.value.code == "invalid_spec"


# ---------------------------------------------------------------------------- remix


def luma(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32)


def edges(frame: np.ndarray) -> np.ndarray:
    """Where the picture's structure is: its strongest 6% of luma gradients (4x smaller),
    above the caption and without the label."""
    y = luma(frame)
    y = y.reshape(y.shape[0] // 4, 4, y.shape[1] // 4, 4).mean(axis=(1, 3))
    y = y[: int(y.shape[0] * 0.85)]
    y[:20, :50] = 0
    gy, gx = np.gradient(y)
    magnitude = np.hypot(gx, gy)  # each picture by its own contrast: night is dimmer
    return magnitude > np.percentile(magnitude, 94)


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """The share of ``a``'s edges that lie on (or next to) ``b``'s."""
    grown = b | np.roll(b, 1, 0) | np.roll(b, -1, 0) | np.roll(b, 1, 1) | np.roll(b, -1, 1)
    return float((a & grown).sum() / a.sum())


def light_source(frame: np.ndarray) -> np.ndarray:
    """Where the sun or the moon is: the centre of the sky's brightest pixels."""
    sky = luma(frame)[: int(0.6 * frame.shape[0])]
    rows, cols = np.nonzero(sky >= np.percentile(sky, 99.5))
    return np.array([cols.mean(), rows.mean()])


def test_a_remix_keeps_the_layout_and_changes_what_the_prompt_changes(work: Path) -> None:
    frame = 12
    sunset = frames_of(render(work / "remix-a", seconds=1).video)[frame]
    night = frames_of(
        render(
            work / "remix-b",
            seconds=1,
            operation="remix",
            prompt="a calm ocean at night",
            source_prompt=SUNSET,
        ).video
    )[frame]
    # The same prompt from another seed: another layout.
    elsewhere = frames_of(
        render(work / "remix-c", seconds=1, seed=8, prompt="a calm ocean at night").video
    )[frame]
    kept, moved = overlap(edges(night), edges(sunset)), overlap(edges(elsewhere), edges(sunset))
    assert kept > 0.7
    assert kept > moved + 0.2
    assert (
        np.linalg.norm(light_source(night) - light_source(sunset)) < 50
    )  # the moon: the sun's place
    assert np.linalg.norm(light_source(elsewhere) - light_source(sunset)) > 150
    # The palette goes where the words say: darker, and blue over red.
    assert night.mean() < sunset.mean() - 40
    r, _, b = night.reshape(-1, 3).mean(axis=0)
    r0, _, b0 = sunset.reshape(-1, 3).mean(axis=0)
    assert b - r > b0 - r0 + 20


# ---------------------------------------------------------------------------- characters


MAGENTA, GREEN = (255, 0, 255), (0, 255, 0)


def poster(path: Path, colour: tuple[int, int, int]) -> Path:
    image = Image.new("RGB", (300, 400), colour)
    ImageDraw.Draw(image).rectangle((0, 0, 299, 20), fill=(255, 255, 255))
    image.save(path)
    return path


def share_of(frame: np.ndarray, colour: tuple[int, int, int]) -> float:
    distance = np.abs(frame.astype(np.int16) - np.array(colour, np.int16)).max(axis=2)
    return float((distance < 40).mean())


def test_characters_appear_in_the_scene(work: Path) -> None:
    characters = (
        CharacterSpec(name="Mira", poster=poster(work / "mira.png", MAGENTA)),
        CharacterSpec(name="Tobias the Brave", poster=poster(work / "tobias.png", GREEN)),
    )
    without = frames_of(render(work / "cast-none", seconds=1, prompt="a forest").video)
    with_cast = frames_of(
        render(work / "cast", seconds=1, prompt="a forest", characters=characters).video
    )
    for frame in (with_cast[0], with_cast[-1]):
        assert share_of(frame, MAGENTA) > 0.01  # a disc of ~140 px in 1280x720
        assert share_of(frame, GREEN) > 0.005
    assert share_of(without[-1], MAGENTA) == 0
    assert share_of(without[-1], GREEN) < 0.0005
    # They move: the magenta disc is elsewhere a second later.
    first = np.argwhere(np.abs(with_cast[0].astype(np.int16) - MAGENTA).max(axis=2) < 40)
    last = np.argwhere(np.abs(with_cast[-1].astype(np.int16) - MAGENTA).max(axis=2) < 40)
    assert abs(first[:, 1].mean() - last[:, 1].mean()) > 40


def test_an_unreadable_poster_is_a_render_failure(work: Path) -> None:
    bad = work / "bad.png"
    bad.write_bytes(b"not an image")
    workdir = work / "bad-poster"
    workdir.mkdir()
    spec = make_spec(seconds=1, characters=(CharacterSpec(name="Nobody", poster=bad),))
    with pytest.raises(ProviderError) as caught:
        LocalRenderer().run(spec, workdir=workdir, on_progress=lambda p: None)
    assert caught.value.code == "render_failed"
    assert "Nobody" in caught.value.message


# ---------------------------------------------------------------------------- timeouts


def test_the_default_timeout_grows_with_the_work() -> None:
    create = default_timeout(make_spec(seconds=20))
    extend = default_timeout(
        make_spec(operation="extend", seconds=120, segment_seconds=20, source_video=Path("x"))
    )
    edit_ = default_timeout(make_spec(operation="edit", seconds=120, source_video=Path("x")))
    tall = default_timeout(make_spec(seconds=20, width=1024, height=1792))
    assert create < extend < edit_
    assert tall > create
    capped = LocalRenderer(max_timeout=300).timeout_for(make_spec(operation="edit", seconds=120))
    assert capped == 300
