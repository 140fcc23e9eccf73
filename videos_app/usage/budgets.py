"""Monthly spend caps: per team, and optionally per member within a team.

A team admin (or staff) sets ``Team.monthly_cap`` and a member's ``Membership.monthly_cap``
(US dollars, this calendar month in the studio's time zone). A create, remix, extension or
edit whose estimated cost would take the team's (or the member's) spend past its cap is
refused before anything is stored or sent: ``OverBudget``, a form error on the pages and
``429 insufficient_quota`` on /v1 (what the retired API answered). Spend is the estimated
cost of the team's videos made this month: what a vendor will bill, so a job that failed
before any vendor took it counts nothing, and a cancelled one that was sent keeps its cost.

The check runs inside the insert's transaction with the team's row locked, so two creates
at once cannot both pass a cap that fits one. A video with no price (an unpriced route)
cannot be checked and is not held back; the usage page counts it as unpriced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Q, Sum
from django.utils import timezone

from ..models import Membership, Team, Video
from ..providers.limits import format_usd

QUOTA = "insufficient_quota"


class OverBudget(ValidationError):
    """A job that would pass a monthly cap (nothing was stored or sent)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=QUOTA)


def month_start(now: datetime | None = None) -> datetime:
    """The first instant of this calendar month in the current time zone."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def spent(*, team_id: int, owner_id: int | None = None, since: datetime | None = None) -> Decimal:
    """The estimated cost of a team's videos made since ``since`` (this month), or of one
    member's there."""
    videos = Video.objects.filter(team_id=team_id, created_at__gte=since or month_start())
    if owner_id is not None:
        videos = videos.filter(owner_id=owner_id)
    total = videos.aggregate(total=Sum("cost_estimate"))["total"]
    return total or Decimal(0)


def budget_check(video: Video, *, copies: int = 1) -> None:
    """Refuse ``video`` (not saved yet) if its estimate passes a cap; call it inside the
    transaction that inserts it: the team's row stays locked until that commits.
    ``copies``: a create of several takes, checked once for them all (all or none)."""
    if video.team_id is None or not video.cost_estimate:
        return
    team = Team.objects.select_for_update().only("monthly_cap", "name").get(pk=video.team_id)
    member_cap = (
        Membership.objects.filter(team_id=team.pk, user_id=video.owner_id)
        .values_list("monthly_cap", flat=True)
        .first()
    )
    cost = video.cost_estimate * copies
    what = f"these {copies} takes' estimate is" if copies > 1 else "this video's estimate is"
    if team.monthly_cap is not None:
        used = spent(team_id=team.pk)
        if used + cost > team.monthly_cap:
            raise OverBudget(
                f"This would pass {team.name}'s monthly spend cap: {format_usd(used)} of "
                f"{format_usd(team.monthly_cap)} is spent and {what} "
                f"{format_usd(cost)}. A team admin can raise the cap."
            )
    if member_cap is not None:
        used = spent(team_id=team.pk, owner_id=video.owner_id)
        if used + cost > member_cap:
            raise OverBudget(
                f"This would pass your monthly spend cap in {team.name}: "
                f"{format_usd(used)} of {format_usd(member_cap)} is spent and {what} "
                f"{format_usd(cost)}. A team admin can raise it."
            )


@dataclass(frozen=True)
class Spend:
    """A month's spend against a cap (None: no cap), for the usage and team pages."""

    spent: Decimal
    cap: Decimal | None

    @property
    def left(self) -> Decimal | None:
        return None if self.cap is None else max(Decimal(0), self.cap - self.spent)

    @property
    def percent(self) -> int:
        if self.cap is None:
            return 0
        if not self.cap:
            return 100 if self.spent else 0
        return min(100, int(self.spent * 100 / self.cap))

    @property
    def reached(self) -> bool:
        """Nothing priced fits any more (a cap of $0 is reached at once)."""
        return self.cap is not None and self.spent >= self.cap


@dataclass(frozen=True)
class Budget(Spend):
    """A team's month so far; ``own``: one member's within it (the usage page's viewer)."""

    team: Team
    own: Spend | None = None


def team_budgets(teams: list[Team]) -> list[Budget]:
    """This month's spend of each team against its cap (one query for all)."""
    totals = dict(
        Video.objects.filter(team__in=teams, created_at__gte=month_start())
        .order_by()
        .values_list("team_id")
        .annotate(total=Sum("cost_estimate"))
    )
    return [Budget(team=t, spent=totals.get(t.pk) or Decimal(0), cap=t.monthly_cap) for t in teams]


def member_budgets(*, user: AbstractBaseUser | AnonymousUser) -> list[Budget]:
    """The teams ``user`` is in, by name: each team's month against its cap and the
    user's own against their member cap (two queries, however many teams)."""
    if not user.is_authenticated:
        return []
    user_id: Any = user.pk
    memberships = list(
        Membership.objects.filter(user_id=user_id).select_related("team").order_by("team__name")
    )
    rows = (
        Video.objects.filter(
            team_id__in=[m.team_id for m in memberships], created_at__gte=month_start()
        )
        .order_by()
        .values_list("team_id")
        .annotate(total=Sum("cost_estimate"), own=Sum("cost_estimate", filter=Q(owner_id=user_id)))
    )
    totals = {team_id: (total, own) for team_id, total, own in rows} if memberships else {}
    budgets = []
    for m in memberships:
        total, own = totals.get(m.team_id, (None, None))
        budgets.append(
            Budget(
                team=m.team,
                spent=total or Decimal(0),
                cap=m.team.monthly_cap,
                own=Spend(spent=own or Decimal(0), cap=m.monthly_cap),
            )
        )
    return budgets


def spend_by_owner(*, team_id: int) -> dict[int, Decimal]:
    """{owner id: this month's spend} in one team, one query; the team's own spend is the
    sum (a former member's videos still count against the team)."""
    rows = (
        Video.objects.filter(team_id=team_id, created_at__gte=month_start())
        .order_by()
        .values_list("owner_id")
        .annotate(total=Sum("cost_estimate"))
    )
    return {owner_id: total or Decimal(0) for owner_id, total in rows}
