"""A user's own display choices (re-exported from videos_app.models)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Preferences(models.Model):
    """One user's choices; the row appears the first time they change one."""

    class TimeFormat(models.TextChoices):
        CLOCK = "clock", "Minutes and seconds (0:05.2)"
        TIMECODE = "timecode", "Timecode, hours:minutes:seconds:frames (00:00:05:05)"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    time_format = models.CharField(
        max_length=16, choices=TimeFormat.choices, default=TimeFormat.CLOCK
    )

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"preferences of {self.user}"
