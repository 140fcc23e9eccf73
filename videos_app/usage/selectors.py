"""Reads for usage and cost: totals of the estimated cost the routing table recorded.

Every total is over the videos the viewer may see (``permissions.videos_visible_to``) and is
one aggregate query. A video's seconds here are the seconds its provider rendered: the
new segment for an extension, the whole video otherwise (as its cost estimate counts
them). Every video counts, whatever its status: the estimate is recorded when it is
submitted; a job that fails before any provider took it on counts no seconds and its
estimate drops to zero (``jobs._fail``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When

from .. import permissions
from ..models import Membership, Video, VideoTotal

E4 = Decimal(10_000)  # VideoTotal keeps ten-thousandths of a dollar
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def billed_seconds(prefix: str = "") -> Case:
    """The seconds a provider rendered for a video (see the module docstring); ``prefix``
    reaches the video across a relation (``"videos__"`` from a user). A job that failed
    before any provider took it on counts none, as its estimate drops to zero."""
    never_taken = Q(
        **{f"{prefix}status": Video.Status.FAILED, f"{prefix}provider_job_id": ""}
    ) & ~Q(**{f"{prefix}error_code": "upstream_outcome_unknown"})
    return Case(
        When(never_taken, then=Value(0)),
        When(**{f"{prefix}operation": Video.Operation.EXTEND}, then=F(f"{prefix}segment_seconds")),
        default=F(f"{prefix}seconds"),
        output_field=IntegerField(),
    )


# A video with no estimate whose price is unknown; the local renderer's are free.
UNPRICED = Q(cost_estimate__isnull=True) & ~Q(provider="local")


@dataclass(frozen=True)
class Summary:
    videos: int
    cost: Decimal  # of the visible videos with a known price
    own_videos: int
    own_cost: Decimal
    unpriced: int  # visible videos with no estimate (unpriced upstream routes)

    @property
    def worth_showing(self) -> bool:
        """Whether any visible video costs (or may cost) something: "$0.00" says nothing."""
        return self.cost > 0 or self.unpriced > 0


@dataclass(frozen=True)
class UserUsage:
    username: str
    videos: int
    seconds: int
    cost: Decimal
    unpriced: int


def usage_summary(*, user: AbstractBaseUser | AnonymousUser) -> Summary:
    """Totals over the videos ``user`` may see, and over their own (one query).

    Read from the maintained totals (``VideoTotal``): a few rows per creator and team, not
    every visible video. Visibility as ``permissions.videos_visible_to``: one's own
    videos, and the team-visible ones of one's teams (tests/test_gallery_scale.py holds
    the two in step).
    """
    if not user.is_authenticated:
        return Summary(videos=0, cost=Decimal(0), own_videos=0, own_cost=Decimal(0), unpriced=0)
    user_id: Any = user.pk
    own = Q(owner_id=user_id)
    rows: QuerySet[VideoTotal] = VideoTotal.objects.all()
    if not permissions.is_staff(user):
        teams = Membership.objects.filter(user_id=user_id).values_list("team_id", flat=True)
        rows = rows.filter(own | Q(team_key__in=teams, visibility=Video.Visibility.TEAM))
    totals = rows.aggregate(
        n=Sum("videos"),
        c=Sum("cost_e4"),
        own_n=Sum("videos", filter=own),
        own_c=Sum("cost_e4", filter=own),
        u=Sum("unpriced"),
    )
    return Summary(
        videos=totals["n"] or 0,
        cost=Decimal(totals["c"] or 0) / E4,
        own_videos=totals["own_n"] or 0,
        own_cost=Decimal(totals["own_c"] or 0) / E4,
        unpriced=totals["u"] or 0,
    )


def parse_month(value: str) -> date | None:
    """``2026-11`` as the first day of that month; None when it is not such a month."""
    match = MONTH.match(value.strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        return None
    return date(int(match[1]), int(match[2]), 1)


def usage_by_user(
    *, user: AbstractBaseUser | AnonymousUser, month: date | None = None
) -> list[UserUsage]:
    """Per creator: videos, rendered seconds and estimated cost, most expensive first.

    Over the videos ``user`` may see, in ``month`` (the current time zone's) if given;
    one aggregate query.
    """
    videos: QuerySet[Video] = permissions.videos_visible_to(user)
    if month is not None:
        videos = videos.filter(created_at__year=month.year, created_at__month=month.month)
    rows: QuerySet[Any] = (
        videos.order_by()
        .values("owner__username")
        .annotate(
            videos=Count("pk"),
            seconds=Sum(billed_seconds()),
            cost=Sum("cost_estimate"),
            unpriced=Count("pk", filter=UNPRICED),
        )
    )
    usage = [
        UserUsage(
            username=row["owner__username"],
            videos=row["videos"],
            seconds=row["seconds"] or 0,
            cost=row["cost"] or Decimal(0),
            unpriced=row["unpriced"],
        )
        for row in rows
    ]
    return sorted(usage, key=lambda u: (-u.cost, -u.seconds, u.username))
