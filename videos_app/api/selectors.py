"""Reads the API makes beyond ``videos_app.selectors``, built on its visibility rule."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

from videos_app.models import Video
from videos_app.selectors import videos_visible_to

from .cursors import cursor_position


class UnknownCursor(Exception):
    """The ``after`` id is not a video this user can see (or could, before it was
    deleted)."""


def video_page(
    *,
    user: AbstractBaseUser | AnonymousUser,
    after: str | None,
    limit: int,
    order: str,
) -> tuple[list[Video], bool]:
    """One page of visible videos by (created_at, id), and whether more follow.

    Two queries whatever the number of videos: the cursor's row (a third when it names
    a deleted video), then limit + 1 rows read along the (created_at, id) index.
    """
    videos = videos_visible_to(user)
    descending = order != "asc"
    if after:
        position = cursor_position(user=user, visible=videos, after=after)
        if position is None:
            raise UnknownCursor(after)
        created_at, video_id = position
        if descending:
            videos = videos.filter(
                Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=video_id),
                created_at__lte=created_at,
            )
        else:
            videos = videos.filter(
                Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=video_id),
                created_at__gte=created_at,
            )
    ordering = ("-created_at", "-id") if descending else ("created_at", "id")
    rows = list(videos.order_by(*ordering)[: limit + 1])
    return rows[:limit], len(rows) > limit
