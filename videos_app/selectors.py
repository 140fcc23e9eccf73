"""Every read the pages and the API make."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from .models import Character, Video


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


def video_progress(*, video_id: str) -> Video:
    """Only what a progress poll shows, in one light query (the poll is the hottest path).

    Visibility was checked when the poll's token was issued (see polling.py).
    """
    return Video.objects.only("id", "status", "progress", "started_at", "size").get(pk=video_id)


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


def characters_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Character]:
    """Characters a user may see and use: for now the whole team's."""
    if not user.is_authenticated:
        return Character.objects.none()
    return Character.objects.all()


def character_get(*, user: AbstractBaseUser | AnonymousUser, character_id: str) -> Character:
    return characters_visible_to(user).select_related("owner").get(pk=character_id)


def video_lineage(*, user: AbstractBaseUser | AnonymousUser, video: Video) -> list[Video]:
    """The chain from the first source down to ``video`` (oldest first), visible steps only.

    Each step is one query; chains are short (an extension chain holds at most seven).
    """
    chain = [video]
    seen = {video.pk}
    current = video
    while current.source_id and current.source_id not in seen and len(chain) < 50:
        try:
            current = videos_visible_to(user).select_related("owner").get(pk=current.source_id)
        except Video.DoesNotExist:
            break
        chain.append(current)
        seen.add(current.pk)
    return list(reversed(chain))


def video_derivatives(*, user: AbstractBaseUser | AnonymousUser, video: Video) -> list[Video]:
    return list(
        videos_visible_to(user).filter(source=video).select_related("owner").order_by("created_at")
    )
