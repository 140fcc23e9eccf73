"""Writes of a user's preferences."""

from __future__ import annotations

from typing import Any

from .models import Preferences


def preferences_update(*, user: Any, time_format: str) -> Preferences:
    preferences, _ = Preferences.objects.update_or_create(
        user=user, defaults={"time_format": time_format}
    )
    return preferences
