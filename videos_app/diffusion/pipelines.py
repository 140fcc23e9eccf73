"""Loading a route's pipeline, and the one the child keeps loaded between requests.

A GPU holds one route's weights at a time: ``Cache.get`` returns the loaded pipeline when
the route's settings are the ones already loaded, and otherwise unloads that one first
(its modules dropped, ``gc.collect()``, the CUDA cache emptied) and loads the new one.
The other pipelines of a family (image-to-video, video-to-video, condition) are made
from the loaded one's modules with ``from_pipe``: the same weights, no second copy.

Weights are read from the route's directory only (``local_files_only``; the child sets
the Hugging Face libraries offline before importing them), after ``check_weights`` has
said nothing is missing.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from .families import Family, check_weights
from .protocol import Failure, Route


def weights_failure(route: Route, missing: list[str]) -> Failure:
    f = route.model
    return Failure(
        "weights_missing",
        f"The {f.label} weights at {route.weights} are incomplete: missing "
        f"{'; '.join(missing)}. Download the diffusers-format weights to that directory "
        "on a machine that reaches the Hugging Face hub (huggingface-cli download REPO "
        "--local-dir DIR) and copy them here; jobs never fetch weights.",
    )


def device_for(route: Route) -> str:
    import torch

    if route.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if route.device == "cuda" and not torch.cuda.is_available():
        raise Failure("invalid_spec", "the route asks for device cuda, and no GPU is visible")
    return route.device


def dtype_for(route: Route, device: str) -> Any:
    """The route's dtype; by default the family's on a GPU, float32 on the CPU (where
    half precision is slower, not faster)."""
    import torch

    name = route.dtype or (route.model.dtype if device == "cuda" else "float32")
    return getattr(torch, name)


class Loaded:
    """One route's pipeline on its device, and its sibling pipelines made on demand."""

    def __init__(self, route: Route, pipe: Any, device: str) -> None:
        self.route, self.pipe, self.device = route, pipe, device
        self.family: Family = route.model
        self.siblings: dict[str, Any] = {}

    def pipeline(self, class_name: str) -> Any:
        """The family's pipeline of that class, sharing the loaded modules."""
        if class_name == type(self.pipe).__name__:
            return self.pipe
        if class_name not in self.siblings:
            import diffusers

            sibling = getattr(diffusers, class_name).from_pipe(self.pipe)
            # diffusers' video-to-video pipeline assumes Wan 2.1's 8x VAE; take the
            # loaded VAE's own factors (Wan 2.2's is 16x, patched).
            for name in ("vae_scale_factor_spatial", "vae_scale_factor_temporal"):
                if hasattr(self.pipe, name) and hasattr(sibling, name):
                    setattr(sibling, name, getattr(self.pipe, name))
            if hasattr(sibling, "video_processor") and hasattr(self.pipe, "video_processor"):
                sibling.video_processor = self.pipe.video_processor
            self.place(sibling)
            self.siblings[class_name] = sibling
        return self.siblings[class_name]

    def place(self, pipe: Any) -> None:
        pipe.set_progress_bar_config(disable=True)
        if self.route.cpu_offload and self.device == "cuda":
            pipe.enable_model_cpu_offload()
            return
        if self.route.cpu_offload:
            print("cpu_offload is for a GPU: ignored on the CPU", file=sys.stderr)
        pipe.to(self.device)


def load(route: Route) -> Loaded:
    """The route's pipeline, loaded from its weights directory onto its device."""
    missing = check_weights(route.family, route.weights)
    if missing:
        raise weights_failure(route, missing)
    import diffusers
    import torch

    f = route.model
    device = device_for(route)
    dtype = dtype_for(route, device)
    options: dict[str, Any] = {"local_files_only": True, "dtype": dtype}
    try:
        if f.vae_float32 and dtype != torch.float32:
            vae_class = _component_class(route, "vae")
            options["vae"] = vae_class.from_pretrained(
                route.weights, subfolder="vae", dtype=torch.float32, local_files_only=True
            )
        pipe = getattr(diffusers, f.text_to_video).from_pretrained(route.weights, **options)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        if isinstance(exc, torch.OutOfMemoryError):
            raise
        print(f"loading {route.weights} failed: {exc!r}", file=sys.stderr)
        raise Failure(
            "weights_missing",
            f"The {f.label} weights at {route.weights} do not load: "
            f"{' '.join(str(exc).split())[:300]}",
        ) from exc
    loaded = Loaded(route, pipe, device)
    loaded.place(pipe)
    if route.vae_tiling:
        pipe.vae.enable_tiling()
    return loaded


def _component_class(route: Route, name: str) -> Any:
    import diffusers

    _library, class_name = json.loads((Path(route.weights) / "model_index.json").read_text())[name]
    return getattr(diffusers, class_name)


class Cache:
    """The one loaded pipeline of this child, keyed by the route's settings."""

    def __init__(self) -> None:
        self.loaded: Loaded | None = None
        self.key: tuple[Any, ...] | None = None
        self.loads = 0  # how many times this child has loaded weights (tests, timings)

    def get(self, route: Route) -> tuple[Loaded, float]:
        """The route's pipeline and the seconds spent loading it (0.0 when it was loaded)."""
        if self.loaded is not None and self.key == route.cache_key():
            return self.loaded, 0.0
        self.unload()
        started = time.perf_counter()
        self.loaded = load(route)
        self.key = route.cache_key()
        self.loads += 1
        return self.loaded, time.perf_counter() - started

    def unload(self) -> None:
        if self.loaded is None:
            return
        self.loaded = self.key = None
        free_memory()


def free_memory() -> None:
    """Give back what a dropped pipeline or a failed run held (the CUDA cache too)."""
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
