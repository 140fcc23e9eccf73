"""The ``after`` cursor of ``GET /v1/videos``, which outlives the video it names.

A deleted video leaves a ``DeletedVideo`` row (its id, its ``created_at`` and who could
see it), so ``after=<a deleted id>`` still says where the next page starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from videos_app import permissions
from videos_app.models import Video

from .models import DeletedVideo


def cursor_position(
    *, user: AbstractBaseUser | AnonymousUser, visible: QuerySet[Video], after: str
) -> tuple[datetime, str] | None:
    """``(created_at, id)`` of the video ``after`` names, live or deleted, if ``user``
    could see it; None otherwise (an id that never existed, or someone else's)."""
    row = visible.values_list("created_at", "pk").filter(pk=after).first()
    if row is not None:
        return row
    gone = DeletedVideo.objects.filter(pk=after).first()
    if gone is None:
        return None
    # The deleted video's own visibility rule, on the fields it had.
    ghost = Video(owner_id=gone.owner_id, team_id=gone.team_id, visibility=gone.visibility)
    if not permissions.can_view_video(user, ghost):
        return None
    return gone.created_at, gone.pk


def remember_deleted(sender: Any, instance: Video, **kwargs: Any) -> None:
    """``post_delete`` of Video: keep its place in the list; drop places past keeping."""
    DeletedVideo.objects.update_or_create(
        pk=instance.pk,
        defaults={
            "created_at": instance.created_at,
            "owner_id": instance.owner_id,
            "team_id": instance.team_id,
            "visibility": instance.visibility,
        },
    )
    expired = timezone.now() - timedelta(days=DeletedVideo.KEEP_DAYS)
    DeletedVideo.objects.filter(deleted_at__lt=expired).delete()
