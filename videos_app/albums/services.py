"""Writes to collections and saved filters (the rules are in selectors.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from .. import permissions
from ..models import Team, Video
from .models import Collection, CollectionItem, SavedFilter
from .selectors import can_change, fits


def _check(actor: Any, *, team: Team | None, owner_id: Any, what: str) -> None:
    if not can_change(actor, team_id=team.pk if team else None, owner_id=owner_id):
        where = f"the team “{team}”" if team else "someone else's"
        raise PermissionDenied(f"You cannot change {what} of {where}: editors and admins can.")


def _save_named(row: Collection | SavedFilter, what: str) -> None:
    """Save ``row``, a name already used where it lives being the form's error."""
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        where = row.team or "You"
        message = f"{where} already {'has' if row.team else 'have'} a {what} named “{row.name}”."
        raise ValidationError({"name": ValidationError(message, code="unique")}) from None


def collection_create(*, actor: Any, team: Team | None, name: str) -> Collection:
    _check(actor, team=team, owner_id=actor.pk, what="collections")
    collection = Collection(team=team, owner=actor, name=name.strip())
    _save_named(collection, "collection")
    return collection


def collection_rename(*, actor: Any, collection: Collection, name: str) -> Collection:
    _check(actor, team=collection.team, owner_id=collection.owner_id, what="collections")
    collection.name = name.strip()
    _save_named(collection, "collection")
    return collection


def collection_delete(*, actor: Any, collection: Collection) -> None:
    """Delete the collection and its memberships; its videos stay."""
    _check(actor, team=collection.team, owner_id=collection.owner_id, what="collections")
    collection.delete()


def collection_add(*, actor: Any, collection: Collection, videos: Iterable[Video]) -> int:
    """Add the videos the actor sees that fit the collection (see selectors.fits);
    those already in it stay once. Returns how many were added."""
    _check(actor, team=collection.team, owner_id=collection.owner_id, what="collections")
    rows = [
        CollectionItem(
            collection=collection, video=video, video_created_at=video.created_at, added_by=actor
        )
        for video in videos
        if permissions.can_view_video(actor, video) and fits(collection, video)
    ]
    before = CollectionItem.objects.filter(collection=collection).count()
    CollectionItem.objects.bulk_create(rows, ignore_conflicts=True)
    return CollectionItem.objects.filter(collection=collection).count() - before


def collection_remove(*, actor: Any, collection: Collection, video_ids: Iterable[str]) -> int:
    """Take videos out of the collection (they stay). Returns how many left it."""
    _check(actor, team=collection.team, owner_id=collection.owner_id, what="collections")
    removed, _ = CollectionItem.objects.filter(
        collection=collection, video_id__in=list(video_ids)
    ).delete()
    return removed


def saved_filter_create(*, actor: Any, team: Team | None, name: str, query: str) -> SavedFilter:
    """Keep ``query`` (the gallery form's cleaned query string) under ``name``."""
    _check(actor, team=team, owner_id=actor.pk, what="saved filters")
    saved = SavedFilter(team=team, owner=actor, name=name.strip(), query=query)
    _save_named(saved, "saved filter")
    return saved


def saved_filter_delete(*, actor: Any, saved: SavedFilter) -> None:
    _check(actor, team=saved.team, owner_id=saved.owner_id, what="saved filters")
    saved.delete()
