"""Reads about teams that the admin shows: storage and video counts per team."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from ..models import Video
from .models import Team


def teams_with_storage(teams: QuerySet[Team]) -> QuerySet[Team]:
    """Teams annotated with ``storage_bytes`` (the sum of their videos' file sizes) and
    ``video_count``: correlated subqueries, so the list stays one query and a join with
    memberships elsewhere in the query cannot multiply the sums."""
    per_team = Video.objects.filter(team=OuterRef("pk")).order_by().values("team")
    return teams.annotate(
        storage_bytes=Coalesce(
            Subquery(per_team.annotate(s=Sum("file_size")).values("s")), 0,
            output_field=IntegerField(),
        ),
        video_count=Coalesce(
            Subquery(per_team.annotate(c=Count("pk")).values("c")), 0,
            output_field=IntegerField(),
        ),
    )  # fmt: skip
