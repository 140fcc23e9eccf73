"""The model families the diffusers engine runs: their pipelines, defaults and limits.

To add a family, declare it in ``FAMILIES`` below: the diffusers pipeline classes it uses
for each operation (``None`` where it has none: that operation is refused), the size and
rate the model was trained for, the frame-count rule its VAE needs, and its defaults.
Importable without torch: the studio's own venv reads it for capabilities and checks, and
``check_weights`` looks at a weights directory with the standard library only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final


@dataclass(frozen=True, kw_only=True)
class Family:
    key: str
    label: str
    licence: str
    osi: bool  # whether the licence is OSI-approved (the admin warns when it is not)
    text_to_video: str  # the diffusers pipeline class the weights are saved as
    image_to_video: str | None  # a create from a first frame; and Wan's extensions
    video_to_video: str | None  # an edit
    condition: str | None  # continuing a clip from its last frames (LTX's extensions)
    fps: int
    size: tuple[int, int]  # (width, height) by default
    sizes: tuple[tuple[int, int], ...]  # the resolutions it makes
    align: int  # width and height must be multiples of this (VAE x patch)
    frame_step: int  # the frame count is frame_step * k + 1
    max_frames: int
    steps: int
    guidance: float
    dtype: str
    # Wan 2.2 TI2V-5B: one transformer for text and image, timesteps per latent token.
    expand_timesteps: bool = False
    # Decode in float32 whatever the dtype (Wan's VAE loses detail in half precision).
    vae_float32: bool = False
    extra: tuple[tuple[str, object], ...] = ()  # more keyword arguments of every call

    @property
    def max_seconds(self) -> int:
        return (self.max_frames - 1) // self.fps

    @property
    def seconds(self) -> tuple[int, ...]:
        """The whole-second durations it makes (at its own rate)."""
        return tuple(range(1, self.max_seconds + 1))


FAMILIES: Final[dict[str, Family]] = {
    f.key: f
    for f in (
        Family(
            key="wan2.2-ti2v-5b",
            label="Wan 2.2 TI2V-5B",
            licence="Apache-2.0",
            osi=True,
            text_to_video="WanPipeline",
            image_to_video="WanImageToVideoPipeline",
            video_to_video="WanVideoToVideoPipeline",
            condition=None,
            fps=24,
            size=(1280, 704),
            sizes=((1280, 704), (704, 1280)),
            align=32,
            frame_step=4,
            max_frames=121,
            steps=50,
            guidance=5.0,
            dtype="bfloat16",
            expand_timesteps=True,
            vae_float32=True,
        ),
        Family(
            key="wan2.1-t2v-1.3b",
            label="Wan 2.1 T2V-1.3B",
            licence="Apache-2.0",
            osi=True,
            text_to_video="WanPipeline",
            image_to_video=None,
            video_to_video="WanVideoToVideoPipeline",
            condition=None,
            fps=16,
            size=(832, 480),
            sizes=((832, 480), (480, 832)),
            align=16,
            frame_step=4,
            max_frames=81,
            steps=50,
            guidance=5.0,
            dtype="bfloat16",
            vae_float32=True,
        ),
        Family(
            key="ltx-video-2b-distilled",
            label="LTX-Video 2B distilled",
            licence="LTX-Video Open Weights License",
            osi=False,
            text_to_video="LTXPipeline",
            image_to_video="LTXImageToVideoPipeline",
            video_to_video=None,
            condition="LTXConditionPipeline",
            fps=24,
            size=(768, 512),
            sizes=((768, 512), (512, 768), (704, 480), (480, 704), (1216, 704), (704, 1216)),
            align=32,
            frame_step=8,
            max_frames=257,
            steps=8,
            guidance=1.0,  # distilled: no classifier-free guidance
            dtype="bfloat16",
            extra=(("decode_timestep", 0.05), ("decode_noise_scale", 0.025)),
        ),
    )
}
DEFAULT_FAMILY: Final = "wan2.2-ti2v-5b"
# An extension conditioned on the source's last frames (LTX) gives it this many.
CONDITION_FRAMES: Final = 9


def family(key: str) -> Family:
    """The family of that key; ``KeyError`` with the known keys otherwise."""
    try:
        return FAMILIES[key]
    except KeyError:
        raise KeyError(f"unknown model family {key!r}: one of {', '.join(FAMILIES)}") from None


def operations(key: str) -> tuple[str, ...]:
    """What the family can do: create and remix always; first_frame, extend and edit
    where it has the pipeline for them."""
    f = family(key)
    ops = ["create", "remix"]
    if f.image_to_video:
        ops.append("first_frame")
    if f.image_to_video or f.condition:
        ops.append("extend")
    if f.video_to_video:
        ops.append("edit")
    return tuple(ops)


def frames_for(key: str, seconds: float, fps: int | None = None) -> int:
    """The frame count to ask the pipeline for, to make ``seconds`` at ``fps``.

    The smallest count the family's rule allows (``frame_step * k + 1``) that holds
    ``seconds * fps`` frames and one more: the video keeps exactly ``seconds * fps`` of
    them (an extension drops the first, which repeats the source's last frame), so the
    duration is never changed to fit the rule.
    """
    f = family(key)
    return count_for(f, math.ceil(seconds * (fps or f.fps)) + 1)


def count_for(f: Family, wanted: int) -> int:
    """The smallest frame count the family makes (``frame_step * k + 1``) >= ``wanted``."""
    return f.frame_step * math.ceil(max(wanted - 1, 0) / f.frame_step) + 1


def nearest_size(key: str, width: int, height: int) -> tuple[int, int]:
    """The family's resolution nearest in shape (then in area) to width x height."""
    f = family(key)
    ratio = math.log(width / height)

    def distance(size: tuple[int, int]) -> tuple[float, float]:
        return abs(math.log(size[0] / size[1]) - ratio), abs(
            math.log(size[0] * size[1] / (width * height))
        )

    return min(f.sizes, key=distance)


# ---------------------------------------------------------------------------- weights

MODEL_INDEX: Final = "model_index.json"
WEIGHT_SUFFIXES: Final = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
# The config file each kind of component is saved with (else config.json).
CONFIG_FILES: Final = {
    "scheduler": ("scheduler_config.json",),
    "tokenizer": ("tokenizer_config.json", "tokenizer.json"),
    "image_processor": ("preprocessor_config.json",),
    "feature_extractor": ("preprocessor_config.json",),
}
# Components without weights of their own.
NO_WEIGHTS: Final = ("scheduler", "tokenizer", "image_processor", "feature_extractor")


def check_weights(key: str, directory: str | Path) -> list[str]:
    """What is missing from a diffusers-format weights directory for this family (empty
    when nothing is): model_index.json, the pipeline class it names, and each component
    folder it lists with its config and weight files (the shards an index names too).
    Reads only JSON and file names, so it answers at once and without torch."""
    f = family(key)
    root = Path(directory)
    if not root.is_dir():
        return [f"the directory {root} does not exist"]
    try:
        index = json.loads((root / MODEL_INDEX).read_text())
    except FileNotFoundError:
        return [f"{MODEL_INDEX} (not a diffusers-format pipeline directory)"]
    except (OSError, ValueError) as exc:
        return [f"{MODEL_INDEX} is unreadable ({exc})"]
    missing: list[str] = []
    if index.get("_class_name") != f.text_to_video:
        missing.append(
            f"{MODEL_INDEX} names {index.get('_class_name')!r}, not {f.text_to_video}"
            f" ({f.label} weights)"
        )
    for name, value in sorted(index.items()):
        if name.startswith("_") or not isinstance(value, list) or None in value:
            continue
        missing.extend(_check_component(root / name, name))
    return missing


def _check_component(folder: Path, name: str) -> list[str]:
    if not folder.is_dir():
        return [f"{name}/ (the folder of the {name} component)"]
    configs = CONFIG_FILES.get(_kind(name), ("config.json",))
    if not any((folder / c).is_file() for c in configs):
        return [f"{name}/{configs[0]}"]
    if _kind(name) in NO_WEIGHTS:
        return []
    files = [p for p in folder.iterdir() if p.is_file()]
    missing = []
    for index in (p for p in files if p.name.endswith(".index.json")):
        try:
            shards = set(json.loads(index.read_text())["weight_map"].values())
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            return [f"{name}/{index.name} is unreadable ({exc})"]
        missing += [f"{name}/{s}" for s in sorted(shards) if not (folder / s).is_file()]
    if not any(p.name.endswith(WEIGHT_SUFFIXES) for p in files):
        missing.append(f"{name}/ has no weight files (*.safetensors)")
    return missing


def _kind(name: str) -> str:
    """``text_encoder_2`` is a text encoder, ``tokenizer_2`` a tokenizer."""
    return name.rstrip("_0123456789")
