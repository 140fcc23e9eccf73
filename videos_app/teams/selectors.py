"""Reads about teams: storage and video counts per team (the admin), and invitations."""

from __future__ import annotations

import hashlib

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import Video
from .models import Invitation, Team


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


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def pending_q() -> Q:
    """Invitations that still work: not accepted, not withdrawn, not expired."""
    return Q(accepted_at__isnull=True, withdrawn_at__isnull=True, expires_at__gt=timezone.now())


def pending_invitations(team: Team) -> list[Invitation]:
    """The team's invitations that still work, newest first."""
    return list(team.invitations.filter(pending_q()).select_related("created_by"))


def invitation_pending(token: str) -> Invitation | None:
    """The invitation this token opens, if it still works (None for any other token)."""
    return (
        Invitation.objects.filter(pending_q(), token_hash=invitation_token_hash(token))
        .select_related("team", "created_by")
        .first()
    )
