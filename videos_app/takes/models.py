"""Rows of takes: a group per create of several takes, and each take's place in it.

Imported by ``videos_app/models.py``, so these keep the app label ``videos_app``. The
video is named by string: this module must not import the core models.

A discarded take is hidden from the gallery but stays a video like any other: picking
again or undoing the pick brings it back, so nothing a user made is lost silently.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

# How many takes one create may make (the form's and /v1's ``n``).
MAX_TAKES = 4


def new_group_id() -> str:
    return f"takes_{secrets.token_hex(12)}"


class TakeGroup(models.Model):
    """The takes of one create; ``picked`` is the one the reviewer continues from."""

    id = models.CharField(primary_key=True, max_length=40, default=new_group_id, editable=False)
    picked = models.ForeignKey(
        "videos_app.Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    picked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    picked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.id


class Take(models.Model):
    """A video's place in its group (take ``number`` of the group's takes)."""

    video = models.OneToOneField(
        "videos_app.Video", primary_key=True, on_delete=models.CASCADE, related_name="take"
    )
    group = models.ForeignKey(TakeGroup, on_delete=models.CASCADE, related_name="takes")
    number = models.PositiveSmallIntegerField()
    # Kept in step with the group's pick (services), so the gallery hides the discarded
    # takes by reading this partial index alone, not every group.
    discarded = models.BooleanField(default=False)

    class Meta:
        ordering = ["group", "number"]
        constraints = [
            models.UniqueConstraint(fields=["group", "number"], name="take_number_unique"),
        ]
        indexes = [
            models.Index(
                fields=["video"], condition=models.Q(discarded=True), name="take_discarded"
            ),
        ]

    def __str__(self) -> str:
        return f"take {self.number} of {self.group_id}"
