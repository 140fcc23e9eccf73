"""Compare: two to four finished videos side by side, their settings and prompts diffed.

``GET /compare/?v=<id>&v=<id>``: videos the user cannot see answer 404, as everywhere.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..accounts.selectors import time_format_for
from ..http import video_or_404
from ..models import Video
from ..renderer.spec import FPS

COMPARE_MIN, COMPARE_MAX = 2, 4


@login_required
@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    """Two to four finished videos side by side, with their settings and prompts diffed."""
    ids = list(dict.fromkeys(v for v in request.GET.getlist("v") if v))  # once each, in order
    if not COMPARE_MIN <= len(ids) <= COMPARE_MAX:
        error = f"Pick {COMPARE_MIN} to {COMPARE_MAX} videos to compare (you picked {len(ids)})."
        return render(request, "videos/compare.html", {"error": error}, status=400)
    videos = [video_or_404(request, video_id) for video_id in ids]
    unfinished = [v for v in videos if not v.is_completed]
    if unfinished:
        names = ", ".join(v.pk for v in unfinished)
        error = f"Only finished videos can be compared; not yet: {names}."
        return render(request, "videos/compare.html", {"error": error}, status=400)
    base = videos[0].prompt
    columns = [
        {
            "video": video,
            "number": i + 1,
            "diff": prompt_diff(base, video.prompt) if i else None,
        }
        for i, video in enumerate(videos)
    ]
    context = {
        "columns": columns,
        "settings_rows": compare_settings(videos),
        "prompts_differ": len({v.prompt for v in videos}) > 1,
        "max_seconds": max(v.seconds for v in videos),
        "time_format": time_format_for(request.user),
        "fps": FPS,
    }
    return render(request, "videos/compare.html", context)


@dataclass(frozen=True)
class SettingRow:
    label: str
    values: list[str]

    @property
    def differs(self) -> bool:
        return len(set(self.values)) > 1


def compare_settings(videos: list[Video]) -> list[SettingRow]:
    """The settings that matter when comparing, one row each, values in video order."""

    def row(label: str, value: Any) -> SettingRow:
        return SettingRow(label, [str(value(v)) for v in videos])

    return [
        row("Model", lambda v: v.model),
        row("Size", lambda v: v.size),
        row("Seconds", lambda v: v.seconds),
        row("Seed", lambda v: v.seed),
        row("Operation", lambda v: v.get_operation_display()),
        row("Engine", lambda v: v.provider_label or "—"),
        row("Creator", lambda v: v.owner.get_username()),
        row("Review", lambda v: v.get_review_state_display()),
    ]


@dataclass(frozen=True)
class DiffPart:
    kind: str  # "same", "ins" or "del"
    text: str


def prompt_diff(base: str, other: str) -> list[DiffPart]:
    """``other`` against ``base`` word by word: what it adds (ins) and drops (del)."""
    a, b = base.split(), other.split()
    parts: list[DiffPart] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(DiffPart("same", " ".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            parts.append(DiffPart("del", " ".join(a[i1:i2])))
        if op in ("insert", "replace"):
            parts.append(DiffPart("ins", " ".join(b[j1:j2])))
    return parts
