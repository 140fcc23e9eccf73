"""Reads of a user's preferences."""

from __future__ import annotations

from typing import Any

from .models import Preferences


def time_format_for(user: Any) -> str:
    """How the user reads moments in a video: ``clock`` (the default) or ``timecode``."""
    if not getattr(user, "is_authenticated", False):
        return Preferences.TimeFormat.CLOCK
    found = Preferences.objects.filter(user=user).values_list("time_format", flat=True).first()
    return found or Preferences.TimeFormat.CLOCK
