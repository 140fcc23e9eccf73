"""Keep every video in a stack, whatever path saved or deleted it (connected in apps.py).

A new video joins its source's stack as the next version (remix, extend, edit, recursively)
or starts its own; deleting a stack's latest version makes the one before it the latest,
so the gallery never loses a stack's card.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from ..models import Video


def on_video_saving(sender: type[Video], instance: Video, raw: bool = False, **kwargs: Any) -> None:
    """Place a new video in a stack before its row is inserted (fixtures keep theirs)."""
    if raw or not instance._state.adding or instance.stack_root_id is not None:
        return
    root_id = None
    if instance.source_id:
        root_id = (
            Video.objects.filter(pk=instance.source_id)
            .values_list("stack_root_id", flat=True)
            .first()
        )
    if root_id is None:
        instance.stack_root_id, instance.stack_version, instance.stack_latest = instance.pk, 1, True
        return
    place_on_top(instance, root_id)


def place_on_top(video: Video, root_id: str) -> None:
    """Make ``video`` the next and latest version of stack ``root_id`` (not saved)."""
    versions = Video.objects.filter(stack_root_id=root_id).exclude(pk=video.pk)
    if transaction.get_connection().in_atomic_block:
        # Two versions made at once wait for each other here (PostgreSQL; SQLite's writes
        # are one at a time), so no two share a number or both stay the latest.
        list(versions.select_for_update().values_list("pk", flat=True))
    top = versions.aggregate(top=Max("stack_version"))["top"] or 0
    versions.filter(stack_latest=True).update(stack_latest=False)
    video.stack_root_id, video.stack_version, video.stack_latest = root_id, top + 1, True


def on_video_deleted(sender: type[Video], instance: Video, **kwargs: Any) -> None:
    """A deleted latest version hands the stack's card to the highest one left."""
    if instance.stack_latest and instance.stack_root_id:
        promote_highest(instance.stack_root_id)


def promote_highest(root_id: str, *, leaving: str | None = None) -> None:
    """Flag the highest version of stack ``root_id`` but ``leaving`` as its latest."""
    highest = (
        Video.objects.filter(stack_root_id=root_id)
        .exclude(pk=leaving)
        .order_by("-stack_version")
        .values_list("pk", flat=True)
        .first()
    )
    if highest is not None:
        Video.objects.filter(pk=highest).update(stack_latest=True)
