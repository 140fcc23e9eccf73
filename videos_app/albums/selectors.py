"""Reads of collections and saved filters, and who may see and change them.

A team's collections and saved filters are seen by its members and changed by its
editors and admins; a personal one (no team) only by its owner. Staff see and change
every one. Whatever is not visible answers 404 (views) or matches nothing (the gallery).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from .. import permissions
from ..models import Team, Video
from .models import Collection, CollectionItem, SavedFilter

AnyUser = AbstractBaseUser | AnonymousUser


def _visible_q(user: AnyUser) -> Q:
    return Q(team_id__in=list(permissions.team_roles(user))) | Q(
        team__isnull=True, owner_id=user.pk
    )


def collections_visible_to(user: AnyUser) -> QuerySet[Collection]:
    if not user.is_authenticated:
        return Collection.objects.none()
    if permissions.is_staff(user):
        return Collection.objects.all()
    return Collection.objects.filter(_visible_q(user))


def saved_filters_visible_to(user: AnyUser) -> QuerySet[SavedFilter]:
    if not user.is_authenticated:
        return SavedFilter.objects.none()
    if permissions.is_staff(user):
        return SavedFilter.objects.all()
    return SavedFilter.objects.filter(_visible_q(user))


def can_change(user: AnyUser, *, team_id: int | None, owner_id: Any) -> bool:
    """May the user change a collection or saved filter of ``team_id`` (None: personal,
    ``owner_id``'s), or make one there?"""
    if not user.is_authenticated:
        return False
    if permissions.is_staff(user):
        return True
    if team_id is None:
        return bool(owner_id == user.pk)
    return permissions.role_in(user, team_id) in permissions.REVIEW_ROLES


def teams_to_change(user: AnyUser) -> QuerySet[Team]:
    """The teams whose collections and saved filters the user may change, by name."""
    return permissions.teams_for_create(user).order_by("name")


def fits(collection: Collection, video: Video) -> bool:
    """Whether ``video`` may go into ``collection``: a team's collection holds that
    team's videos, a personal one videos with no team, so that a collection never shows
    its team a video (or a count of videos) from elsewhere."""
    return video.team_id == collection.team_id


def collection_filter(
    videos: QuerySet[Video], *, user: AnyUser, collection_id: int
) -> QuerySet[Video]:
    """Only ``videos`` in the collection, if the user may see it (else none). One
    subquery, no query of its own: the gallery stays at its queries per page."""
    members = CollectionItem.objects.filter(
        collection_id=collection_id,
        collection__in=collections_visible_to(user).filter(pk=collection_id),
    ).values("video_id")
    return videos.filter(pk__in=members)


@dataclass(frozen=True)
class Sidebar:
    """The gallery's side bar: the collections and saved filters the user sees, with
    the teams they may make new ones in."""

    collections: list[Collection]
    saved_filters: list[SavedFilter]
    teams: list[Team]


def gallery_sidebar(*, user: AnyUser) -> Sidebar:
    """Three queries, whatever the number of collections (their teams joined)."""
    return Sidebar(
        collections=list(
            collections_visible_to(user).select_related("team").order_by("team__name", "name")
        ),
        saved_filters=list(
            saved_filters_visible_to(user).select_related("team").order_by("team__name", "name")
        ),
        teams=list(teams_to_change(user)),
    )


def collections_to_change(user: AnyUser) -> list[Collection]:
    """The collections the user may add videos to, by team then name."""
    visible = collections_visible_to(user).select_related("team").order_by("team__name", "name")
    return [c for c in visible if can_change(user, team_id=c.team_id, owner_id=c.owner_id)]
