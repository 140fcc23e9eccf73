"""Reads of takes: a video page's strip of its siblings, and the gallery's discarded rule."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from .. import permissions
from ..models import Video
from .models import Take, TakeGroup
from .services import can_pick


@dataclass(frozen=True)
class TakeStrip:
    """A take's group as its page shows it: every take the user sees, in order."""

    group: TakeGroup
    takes: list[Take]
    current: Take
    can_pick: bool

    @property
    def count(self) -> int:
        return len(self.takes)

    @property
    def picked(self) -> Take | None:
        return next((t for t in self.takes if t.video_id == self.group.picked_id), None)

    @property
    def any_discarded(self) -> bool:
        return any(take.discarded for take in self.takes)


def take_strip(*, user: AbstractBaseUser | AnonymousUser, video: Video) -> TakeStrip | None:
    """The strip of ``video``'s takes; None for a video made alone (one query)."""
    group_id = Take.objects.filter(video_id=video.pk).values("group_id")
    takes = list(
        Take.objects.filter(group_id__in=group_id, video__in=permissions.videos_visible_to(user))
        .select_related("group__picked_by", "video")
        .order_by("number")
    )
    current = next((take for take in takes if take.video_id == video.pk), None)
    if current is None:
        return None
    return TakeStrip(
        group=current.group, takes=takes, current=current, can_pick=can_pick(user, video)
    )


def take_ids(*, video: Video) -> list[str]:
    """The ids of the takes made with ``video``, in order (just its own when alone)."""
    group_id = Take.objects.filter(video_id=video.pk).values("group_id")
    ids = list(
        Take.objects.filter(group_id__in=group_id)
        .order_by("number")
        .values_list("video_id", flat=True)
    )
    return ids or [video.pk]


def discarded_filter(videos: QuerySet[Video], *, discarded: bool) -> QuerySet[Video]:
    """Without ``discarded``, the videos that are no discarded take (the gallery's
    default); with it, only the discarded takes. The subquery reads the partial index of
    discarded takes only."""
    hidden = Take.objects.filter(discarded=True).values("video_id")
    if discarded:
        return videos.filter(pk__in=hidden)
    return videos.exclude(pk__in=hidden)
