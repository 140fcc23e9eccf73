"""Reads for reusing what exists: a video's settings ("Use these settings") and team presets.

The create form reads its starting values from the query string:

- ``?from=<video id>``: that video's prompt, model, size, duration, characters and team,
  and its reference image, carried as ``reference_from`` and copied (never linked) when
  the form is submitted. A video the user cannot see, or an unknown id, is ignored with
  a message: the same message for both, so nothing leaks.
- ``?preset=<id>``: a preset of one of the user's teams (prompt, model, size, duration).
- ``?prompt=&model=&size=&seconds=``: as before (and what "Save as preset" sends).

Presets belong to a team: everyone in it may use them; its editors and admins (and
staff) may create, change and delete them (``permissions.can_create_in``; the writes
are in services.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from .. import permissions
from ..images import reference_image_prepare
from ..models import ModelRoute, Team, Video
from ..providers import catalog
from .models import PromptPreset

QUERY_KEYS = ("prompt", "model", "size", "seconds")
NOT_FOUND = "That video is not available to start from."
PRESET_NOT_FOUND = "That preset is not available."


@dataclass
class Prefill:
    initial: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    source: Video | None = None  # the video whose settings were taken
    preset: PromptPreset | None = None


def prefill(user: Any, query: Any) -> Prefill:
    """The create form's initial values for this query string (see the module docstring)."""
    result = Prefill()
    if video_id := query.get("from"):
        source = permissions.videos_visible_to(user).filter(pk=video_id).first()
        if source is None:
            result.errors.append(NOT_FOUND)
        else:
            result.source = source
            result.initial.update(video_settings(user, source))
    if preset_id := query.get("preset"):
        usable = presets_usable_by(user)
        preset = usable.filter(pk=preset_id).first() if preset_id.isdigit() else None
        if preset is None:
            result.errors.append(PRESET_NOT_FOUND)
        else:
            result.preset = preset
            result.initial.update(preset_settings(preset))
    result.initial.update({k: query[k] for k in QUERY_KEYS if query.get(k)})
    return result


def video_settings(user: Any, video: Video) -> dict[str, Any]:
    """What "Use these settings" carries over from a video the user can see."""
    visible = permissions.characters_visible_to(user)
    initial: dict[str, Any] = {
        "prompt": video.prompt,
        "model": video.model,
        "size": video.size,
        "seconds": video.seconds,
        "characters": list(visible.filter(videos=video).values_list("pk", flat=True)),
    }
    if video.team_id is not None and permissions.can_create_in(user, video.team_id):
        initial["team"] = str(video.team_id)
    if video.visibility == Video.Visibility.PRIVATE and video.owner_id == user.pk:
        initial["private"] = True
    if video.reference_image:
        initial["reference_from"] = video.pk
    return initial


def preset_settings(preset: PromptPreset) -> dict[str, Any]:
    return {
        "prompt": preset.prompt,
        "model": preset.model,
        "size": preset.size,
        "seconds": preset.seconds,
        "team": str(preset.team_id),
    }


def carried_reference(user: Any, video_id: str) -> Video | None:
    """The visible video whose stored reference image ``reference_from`` names, if any."""
    if not video_id:
        return None
    video = permissions.videos_visible_to(user).filter(pk=video_id).first()
    return video if video is not None and video.reference_image else None


def reference_png_from(*, user: Any, video_id: str, size: str) -> bytes:
    """A copy of a visible video's reference image as PNG of ``size`` (cropped to fit if
    the size changed). Unknown and invisible ids raise the same ValidationError."""
    source = carried_reference(user, video_id)
    if source is None:
        raise ValidationError(
            {"reference_image": ValidationError(NOT_FOUND, code="reference_not_found")}
        )
    width, height = catalog.parse_size(size)
    with source.reference_image.open("rb") as fh:
        return reference_image_prepare(fh, width=width, height=height, fit=True)


# --- Presets ------------------------------------------------------------------------------


def presets_usable_by(user: Any) -> QuerySet[PromptPreset]:
    """Presets of the teams the user belongs to (every team, for staff)."""
    return PromptPreset.objects.filter(team__in=permissions.teams_visible_to(user)).select_related(
        "team", "created_by"
    )


def can_edit_presets(user: Any, team: Team | int) -> bool:
    """Editors and admins of the team (and staff), as for creating videos in it."""
    return permissions.can_create_in(user, team)


def model_names() -> list[str]:
    """The models offered on the create form (the routing table's listed, enabled ones)."""
    names = list(
        ModelRoute.objects.filter(listed=True, enabled=True).values_list("name", flat=True)
    )
    return names or [catalog.DEFAULT_MODEL]


def carried_reference_png(*, user: Any, data: Any, size: str) -> bytes | None:
    """The create form's carried reference (``reference_from``, kept ticked), as PNG of
    ``size``; None when none is carried or it was dropped."""
    video_id = data.get("reference_from", "")
    if not video_id or not data.get("keep_reference"):
        return None
    return reference_png_from(user=user, video_id=video_id, size=size)


def create_form_context(request: Any, form: Any) -> dict[str, Any]:
    """What the create page shows besides the form: the preset picker and the preview of
    a carried reference image."""
    if request.method == "POST":
        carried_id = request.POST.get("reference_from", "")
    else:
        carried_id = form.initial.get("reference_from", "")
    preset = request.GET.get("preset", "")
    return {
        "presets": list(presets_usable_by(request.user).order_by("team__name", "name")),
        "current_preset": int(preset) if preset.isdigit() else None,
        "carried": carried_reference(request.user, carried_id),
        "can_save_preset": permissions.teams_for_create(request.user).exists(),
    }
