"""Collections of videos and saved gallery filters.

Imported by ``videos_app/models.py``, so these keep the app label ``videos_app``. The
video is named by string: this module must not import the core models.

Both belong to a team (its members see them, its editors change them) or, with no team,
to their owner alone. Deleting a collection deletes its memberships, never a video.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..teams.models import Team

NAME_LENGTH = 100
# A saved filter's query string is the gallery form's cleaned values, short by nature.
QUERY_LENGTH = 1000


class Collection(models.Model):
    """A named, hand-picked set of videos."""

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="collections"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections"
    )
    name = models.CharField(max_length=NAME_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"],
                condition=models.Q(team__isnull=False),
                name="collection_team_name_unique",
            ),
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=models.Q(team__isnull=True),
                name="collection_own_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    """A video in a collection. ``video_created_at`` copies the video's (which never
    changes), so a collection's page walks this index in the gallery's newest-first
    order instead of sorting every member."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    video = models.ForeignKey("videos_app.Video", on_delete=models.CASCADE, related_name="+")
    video_created_at = models.DateTimeField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "video"], name="collection_item_unique"),
        ]
        indexes = [
            models.Index(
                fields=["collection", "-video_created_at", "-video"], name="collection_item_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.video_id} in {self.collection_id}"


class SavedFilter(models.Model):
    """A gallery view kept under a name: the filter form's cleaned query string."""

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="saved_filters"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(max_length=NAME_LENGTH)
    query = models.CharField(max_length=QUERY_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"],
                condition=models.Q(team__isnull=False),
                name="saved_filter_team_name_unique",
            ),
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=models.Q(team__isnull=True),
                name="saved_filter_own_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name
