"""Reads of stacks: the gallery's one card per stack, and a video page's list of versions."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, TextField
from django.db.models.functions import Coalesce

from .. import permissions
from ..models import Video


def stack_filter(videos: QuerySet[Video], *, every: bool) -> QuerySet[Video]:
    """Without ``every``, only each stack's latest version (the gallery's default: filters
    then apply to the card's own video); with it, every version. The gallery's indexes
    have copies over the latest versions alone (``video_latest_*``), so its plans keep
    their order and covering indexes."""
    return videos if every else videos.filter(stack_latest=True)


def stack_card_fields(videos: QuerySet[Video]) -> QuerySet[Video]:
    """Each card's ``stack_size`` (its stack's versions) and ``stack_title`` (the first
    video's prompt, the scene's; the card's own once that is deleted): two index lookups
    a row in the page's one query, none in its count."""
    same_stack = Video.objects.filter(stack_root_id=OuterRef("stack_root_id"))
    size = same_stack.order_by().values("stack_root_id").annotate(n=Count("pk")).values("n")
    title = Video.objects.filter(pk=OuterRef("stack_root_id")).values("prompt")
    return videos.annotate(
        stack_size=Coalesce(Subquery(size, output_field=IntegerField()), 1),
        stack_title=Coalesce(Subquery(title, output_field=TextField()), "prompt"),
    )


@dataclass(frozen=True)
class StackVersions:
    """A video's stack as its page lists it: the versions the user sees, oldest first."""

    current: Video
    versions: list[Video]
    total: int

    @property
    def is_stacked(self) -> bool:
        return self.total > 1


def stack_versions(*, user: AbstractBaseUser | AnonymousUser, video: Video) -> StackVersions:
    """Every version of ``video``'s stack that ``user`` may see (one query)."""
    root_id = video.stack_root_id or video.pk
    versions = list(
        permissions.videos_visible_to(user)
        .filter(stack_root_id=root_id)
        .select_related("owner")
        .order_by("stack_version")
    )
    if not any(v.pk == video.pk for v in versions):
        versions = [video]
    return StackVersions(current=video, versions=versions, total=len(versions))
