"""A team's saved prompts and settings.

Imported by ``videos_app/models.py``, so it keeps the app label ``videos_app`` and its table.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..providers import limits as catalog
from ..teams.models import Team


class PromptPreset(models.Model):
    """A prompt and settings a team saved to start new videos from."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="presets")
    name = models.CharField(max_length=100)
    prompt = models.TextField(max_length=catalog.MAX_PROMPT_LENGTH)
    model = models.CharField(max_length=64, default=catalog.DEFAULT_MODEL)
    size = models.CharField(max_length=16, default=catalog.DEFAULT_SIZE)
    seconds = models.PositiveSmallIntegerField(default=catalog.DEFAULT_SECONDS)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="preset_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
