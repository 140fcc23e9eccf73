"""Writes of takes: the group a create of several takes lands in, and picking from it.

Seeds: with a seed given, the takes render ``seed``, ``seed + 1``, … (each take's page
shows its own, so any take can be made again); without one, distinct random seeds.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import Video, new_seed
from .models import MAX_TAKES, Take, TakeGroup

SEED_LIMIT = 2**32  # seeds are 0 … 2**32 - 1 (the form's and /v1's range)


def take_count_check(n: int) -> None:
    """Refuse a number of takes outside 1 … MAX_TAKES (the form and /v1 check it first)."""
    if not 1 <= n <= MAX_TAKES:
        raise ValidationError(
            {"n": ValidationError(f"Make 1 to {MAX_TAKES} takes.", code="invalid_value")}
        )


def take_seeds(seed: int | None, n: int) -> list[int]:
    """The seeds of ``n`` takes: from ``seed`` on, one apart, else random and distinct."""
    if seed is not None:
        return [(seed + i) % SEED_LIMIT for i in range(n)]
    seeds: list[int] = []
    while len(seeds) < n:
        drawn = new_seed()
        if drawn not in seeds:
            seeds.append(drawn)
    return seeds


def take_group_save(videos: Sequence[Video]) -> TakeGroup:
    """Put saved ``videos`` (one create's takes, in order) in a new group; call it in the
    transaction that inserts them."""
    group = TakeGroup.objects.create()
    Take.objects.bulk_create(
        Take(video=video, group=group, number=number) for number, video in enumerate(videos, 1)
    )
    return group


def can_pick(user: AbstractBaseUser | AnonymousUser, video: Video) -> bool:
    """Who reviews the video (its team's editors and admins, staff), and its creator."""
    if permissions.can_review(user, video):
        return True
    return permissions.can_view_video(user, video) and video.owner_id == user.pk


def _take_to_pick(user: AbstractBaseUser | AnonymousUser, video: Video) -> Take:
    if not can_pick(user, video):
        raise PermissionDenied("Only the video's creator and its reviewers pick takes.")
    take = Take.objects.filter(video_id=video.pk).first()
    if take is None:
        raise ValidationError("This video is not one of several takes.", code="not_a_take")
    return take


def take_pick(*, user: AbstractBaseUser, video: Video) -> TakeGroup:
    """Pick ``video`` from its group: the other takes are discarded (hidden, not deleted)."""
    take = _take_to_pick(user, video)
    if not video.is_completed:
        raise ValidationError(
            f"Take {take.number} is {video.get_status_display().lower()}; only a finished "
            "take can be picked.",
            code="take_not_completed",
        )
    with transaction.atomic():
        # Locked: two reviewers picking at once leave one pick, not two half-applied.
        group = TakeGroup.objects.select_for_update().get(pk=take.group_id)
        group.picked_id, group.picked_at = video.pk, timezone.now()
        group.picked_by = user  # type: ignore[assignment]
        group.save(update_fields=["picked", "picked_by", "picked_at"])
        group.takes.exclude(video_id=video.pk).update(discarded=True)
        group.takes.filter(video_id=video.pk).update(discarded=False)
    return group


def take_pick_undo(*, user: AbstractBaseUser, video: Video) -> TakeGroup:
    """Undo the group's pick: every take is back in the gallery."""
    take = _take_to_pick(user, video)
    with transaction.atomic():
        group = TakeGroup.objects.select_for_update().get(pk=take.group_id)
        group.picked, group.picked_by, group.picked_at = None, None, None
        group.save(update_fields=["picked", "picked_by", "picked_at"])
        group.takes.update(discarded=False)
    return group
