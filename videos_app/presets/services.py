"""Writes to a team's presets: its editors and admins (and staff) only."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from ..models import Team
from .models import PromptPreset
from .selectors import can_edit_presets


def preset_save(
    *,
    actor: Any,
    team: Team,
    name: str,
    prompt: str,
    model: str,
    size: str,
    seconds: int,
    preset: PromptPreset | None = None,
) -> PromptPreset:
    """Create (or, given ``preset``, change) a team's preset."""
    if not can_edit_presets(actor, team) or (
        preset is not None and not can_edit_presets(actor, preset.team_id)
    ):
        raise PermissionDenied("Only the team's editors and admins can change its presets.")
    preset = preset or PromptPreset(created_by=actor)
    preset.team, preset.name, preset.prompt = team, name.strip(), prompt
    preset.model, preset.size, preset.seconds = model, size, seconds
    try:
        with transaction.atomic():
            preset.save()
    except IntegrityError:
        raise ValidationError(
            {"name": ValidationError(f"{team} already has a preset named “{name}”.", code="unique")}
        ) from None
    return preset


def preset_delete(*, actor: Any, preset: PromptPreset) -> None:
    if not can_edit_presets(actor, preset.team_id):
        raise PermissionDenied("Only the team's editors and admins can delete its presets.")
    preset.delete()
