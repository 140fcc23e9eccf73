"""What a model accepts: sizes, durations, frames, references, sound, seed, and which
derived videos it can make itself.

Each engine seeds a model's capabilities from the vendor's documented limits
(``capabilities_for(model)``, a classmethod of the engine, or its module's ``MODELS``
table); an admin edits them per route (``ModelRoute.capabilities``, merged field by
field over the engine's). The create form shows only what the route's model takes and
``/v1`` refuses anything else, naming the model and what it accepts.

Sizes are the Videos API's strings (``"1280x720"``); each engine maps them onto its
vendor's terms (16:9 at 720p) with ``base.size_aspect_ratio`` / ``size_resolution``.
Nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

OPERATIONS = ("extend", "edit", "remix")


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    sizes: tuple[str, ...] = ()  # the sizes it makes; empty: any the studio offers
    seconds: tuple[int, ...] = ()  # the durations it makes; empty: any the studio offers
    first_frame: bool = True  # an image to start from (input_reference)
    last_frame: bool = False  # an image to end on
    reference_images: int = 0  # how many images of what to show (0: none)
    audio: bool = False  # it makes sound, and can be told not to
    seed: bool = False
    negative_prompt: bool = False
    extend: bool = False  # extends a video itself (else: its last frame, then stitched)
    extend_seconds: tuple[int, ...] = ()  # the lengths of a native extension
    edit: bool = False
    remix: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    def merged(self, overrides: dict[str, Any] | None) -> Capabilities:
        """These, with an admin's ``overrides`` (unknown keys and bad types ignored)."""
        if not overrides:
            return self
        changes: dict[str, Any] = {}
        for f in fields(self):
            if f.name not in overrides:
                continue
            value = overrides[f.name]
            current = getattr(self, f.name)
            if isinstance(current, tuple) and isinstance(value, list | tuple):
                kind = int if f.name.endswith("seconds") else str
                if all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
                    changes[f.name] = tuple(value)
            elif _same_kind(current, value) and not (isinstance(value, int) and value < 0):
                changes[f.name] = value
        return replace(self, **changes)

    def can(self, operation: str) -> bool:
        """Whether the model makes ``operation`` itself (create always)."""
        return operation == "create" or bool(getattr(self, operation, False))

    # --- what a request asks that the model does not take ---------------------------

    def refusals(
        self,
        *,
        size: str = "",
        seconds: int | None = None,
        first_frame: bool = False,
        last_frame: bool = False,
        reference_images: int = 0,
        audio: bool | None = None,
        negative_prompt: str = "",
        seed_given: bool = False,
    ) -> dict[str, str]:
        """Field -> what is wrong, in words naming what the model accepts (empty: fine)."""
        wrong: dict[str, str] = {}
        if size and self.sizes and size not in self.sizes:
            wrong["size"] = f"makes {_words(self.sizes)}"
        if seconds is not None and self.seconds and seconds not in self.seconds:
            wrong["seconds"] = f"makes {_words([str(s) for s in self.seconds])} seconds"
        if first_frame and not self.first_frame:
            wrong["input_reference"] = "does not start from an image"
        if last_frame and not self.last_frame:
            wrong["last_frame"] = "does not take a last frame"
        if reference_images > self.reference_images:
            wrong["reference_images"] = (
                f"takes up to {self.reference_images} reference images"
                if self.reference_images
                else "does not take reference images"
            )
        if audio is not None and not self.audio:
            wrong["audio"] = "makes no sound"
        if negative_prompt and not self.negative_prompt:
            wrong["negative_prompt"] = "does not take a negative prompt"
        if seed_given and not self.seed:
            wrong["seed"] = "does not take a seed"
        return wrong


def _same_kind(current: object, value: object) -> bool:
    """A bool for a bool, a whole number for a count (True is not a count)."""
    if isinstance(current, bool):
        return isinstance(value, bool)
    return isinstance(current, int) and isinstance(value, int) and not isinstance(value, bool)


def _words(items: list[str] | tuple[str, ...]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


# The studio's own engines: everything it offers (their limits are settings).
EVERYTHING = Capabilities(extend=True, edit=True, remix=True, audio=False, seed=True)
