"""The cost totals the gallery's usage line reads, kept by the database itself."""

from __future__ import annotations

from django.db import models


class VideoTotal(models.Model):
    """Every video's count and estimated cost, summed per (creator, team, visibility).

    Triggers on the video table (``usage/totals.py``) keep it: every insert, delete and
    change of the columns it sums, bulk writes and ``update()`` included, so no write
    path can forget it. Who sees a video depends only on these three columns, so the
    usage line sums a few of these rows rather than every visible video.
    """

    owner_id = models.BigIntegerField()
    team_key = models.BigIntegerField()  # the team's id, 0 for none (NULLs are not unique)
    visibility = models.CharField(max_length=8)
    videos = models.BigIntegerField(default=0)
    cost_e4 = models.BigIntegerField(default=0)  # ten-thousandths of a dollar: exact sums
    unpriced = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner_id", "team_key", "visibility"], name="video_total_key"
            )
        ]
        indexes = [models.Index(fields=["team_key", "visibility"], name="video_total_team")]

    def __str__(self) -> str:
        return f"{self.owner_id}/{self.team_key}/{self.visibility}: {self.videos} videos"
