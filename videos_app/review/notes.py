"""Frame-accurate notes: a comment's moment or range on the video's frame grid, and its
drawing's shapes.

Times are stored as seconds to the millisecond, snapped to the nearest frame, so a note
made at a frame is found at that frame again however the player reported its time.
A drawing is a list of shapes in 0-1 frame coordinates (x from the left, y from the top
of the picture, letterboxing excluded), checked here before anything is saved: only the
kinds and colours the page draws, a bounded number of shapes and points, numbers in 0..1.
Imports nothing from the app, so forms, services and selectors can all use it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.core.exceptions import ValidationError

from ..renderer.spec import FPS

# The shapes the drawing tool makes: kind -> (fewest, most) points. A line, an arrow
# (tail to head) and a rectangle (two corners) are two points; a free-hand stroke a path.
SHAPE_POINTS: dict[str, tuple[int, int]] = {
    "arrow": (2, 2),
    "line": (2, 2),
    "rect": (2, 2),
    "pen": (2, 400),
}
SHAPE_NAMES = {"arrow": "an arrow", "line": "a line", "rect": "a rectangle", "pen": "a stroke"}
# The tool's palette by name; static/studio/draw.js holds the same names and their hex.
COLORS = ("red", "yellow", "green", "blue", "white")
MAX_SHAPES = 40
MAX_POINTS = 2000  # in all the shapes of one drawing
MAX_DRAWING_CHARS = 100_000  # MAX_POINTS points at full float precision, and room
COORD_DECIMALS = 4  # a ten-thousandth of the frame: finer than a 4K pixel


def frame_rate() -> int:
    """The frame rate notes snap to. Neither the Video row nor the upload probe records
    one: every video the studio plays is the local renderer's or transcoded to its
    grid, 24 fps (``renderer.spec.FPS``). A per-video rate would go here."""
    return FPS


def snap(seconds: float, fps: int | None = None) -> float:
    """``seconds`` moved to the start of the nearest frame, to the millisecond."""
    rate = fps or frame_rate()
    return round(round(seconds * rate) / rate, 3)


def check_times(
    at_seconds: float | None, out_seconds: float | None, duration: float
) -> dict[str, list[str]]:
    """Form errors for a moment or range (``0 <= in < out <= duration``); none when valid.

    The raw values are checked, then their snapped ones (two times in one frame are not
    a range). NaN fails every comparison, so it is refused too.
    """
    errors: dict[str, list[str]] = {}
    if at_seconds is not None and not (0 <= at_seconds <= duration):
        errors["at_seconds"] = [f"A moment between 0 and {duration:g} s."]
    if out_seconds is None:
        return errors
    if at_seconds is None:
        errors["out_seconds"] = ["Set where the range starts (In) as well as where it ends."]
    elif not (0 <= out_seconds <= duration):
        errors["out_seconds"] = [f"A range's end between 0 and {duration:g} s."]
    elif "at_seconds" not in errors and not snap(at_seconds) < snap(out_seconds):
        errors["out_seconds"] = ["A range ends at least a frame after it starts."]
    return errors


def _coord(value: Any) -> float:
    # bool is an int to Python, not a coordinate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a coordinate is a number")
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise ValueError("coordinates run from 0 to 1")
    return round(float(value), COORD_DECIMALS)


def _shape(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or set(raw) != {"kind", "color", "points"}:
        raise ValueError("each shape has a kind, a colour and points")
    kind, color, points = raw["kind"], raw["color"], raw["points"]
    if kind not in SHAPE_POINTS:
        raise ValueError(f"unknown shape {str(kind)[:20]!r}")
    if color not in COLORS:
        raise ValueError(f"unknown colour {str(color)[:20]!r}")
    fewest, most = SHAPE_POINTS[kind]
    if not isinstance(points, list) or not (fewest <= len(points) <= most):
        count = f"{fewest}" if fewest == most else f"{fewest} to {most}"
        raise ValueError(f"{SHAPE_NAMES[kind]} has {count} points")
    cleaned = []
    for point in points:
        if not isinstance(point, list) or len(point) != 2:
            raise ValueError("a point is [x, y]")
        cleaned.append([_coord(point[0]), _coord(point[1])])
    return {"kind": kind, "color": color, "points": cleaned}


def clean_shapes(shapes: Any) -> list[dict[str, Any]] | None:
    """A drawing's shapes, checked and rounded; None for no drawing.

    Raises ValidationError (code ``invalid_drawing``) naming the first problem.
    """
    try:
        if not isinstance(shapes, list):
            raise ValueError("a drawing is a list of shapes")
        if len(shapes) > MAX_SHAPES:
            raise ValueError(f"at most {MAX_SHAPES} shapes")
        cleaned = [_shape(shape) for shape in shapes]
        if sum(len(shape["points"]) for shape in cleaned) > MAX_POINTS:
            raise ValueError(f"at most {MAX_POINTS} points in all")
    except ValueError as exc:
        raise ValidationError(
            f"The drawing could not be kept: {exc}.", code="invalid_drawing"
        ) from None
    return cleaned or None


def clean_drawing(raw: str) -> list[dict[str, Any]] | None:
    """The drawing as the form posts it (JSON text), parsed and checked by ``clean_shapes``."""
    if not raw.strip():
        return None
    if len(raw) > MAX_DRAWING_CHARS:
        raise ValidationError("That drawing is too large to keep.", code="invalid_drawing")
    try:
        shapes = json.loads(raw)
    except (ValueError, RecursionError):  # json.JSONDecodeError is a ValueError
        raise ValidationError(
            "The drawing could not be kept: it is not valid JSON.", code="invalid_drawing"
        ) from None
    return clean_shapes(shapes)
