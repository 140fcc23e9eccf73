"""Every read the pages and the API make."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from .models import Video


def videos_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Video]:
    """The videos a user may see: for now the whole team, which is every signed-in user."""
    if not user.is_authenticated:
        return Video.objects.none()
    return Video.objects.all()


def video_gallery(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Video]:
    return videos_visible_to(user).select_related("owner").order_by("-created_at", "-id")


def video_get(*, user: AbstractBaseUser | AnonymousUser, video_id: str) -> Video:
    """The video, or Video.DoesNotExist if it is unknown or not visible to the user."""
    return videos_visible_to(user).select_related("owner").get(pk=video_id)


def video_progress_many(
    *, user: AbstractBaseUser | AnonymousUser, video_ids: Iterable[str]
) -> list[Video]:
    """The status columns of several videos in one query (for polling)."""
    ids = list(video_ids)[:100]
    return list(
        videos_visible_to(user)
        .filter(pk__in=ids)
        .select_related("owner")
        .order_by("-created_at", "-id")
    )
