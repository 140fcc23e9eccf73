"""Writes of stacks: add a video to a stack as its new version, take a version out.

Both are for the editors of the videos' team (``permissions.can_review``: its editors and
admins, a video's creator when it has no team) and keep each stack's numbers 1..N with
exactly one latest version, in one transaction.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet

from .. import permissions
from ..models import StackApprover, Video
from .receivers import place_on_top, promote_highest

AnyUser = AbstractBaseUser | AnonymousUser


def can_restack(user: AnyUser, video: Video) -> bool:
    """Who moves ``video`` between stacks: the editors who may review it."""
    return permissions.can_review(user, video)


def stack_add(*, user: AnyUser, video: Video, into: Video) -> Video:
    """Make ``video`` the newest version of ``into``'s stack (leaving its own stack)."""
    if not (can_restack(user, video) and can_restack(user, into)):
        raise PermissionDenied("Only the team's editors can change its stacks.")
    _refuse_locked(video)
    if video.team_id != into.team_id:
        raise ValidationError("A stack holds the videos of one team.")
    with transaction.atomic():
        moving, target = _locked(video.pk), _locked(into.pk)
        if moving.stack_root_id == target.stack_root_id:
            raise ValidationError("That video is already a version of this stack.")
        _leave(moving)
        place_on_top(moving, target.stack_root_id or target.pk)
        moving.save(update_fields=["stack_root", "stack_version", "stack_latest"])
    return moving


def stack_take_out(*, user: AnyUser, video: Video) -> Video:
    """Take ``video`` out of its stack: it becomes a stack of its own (version 1)."""
    if not can_restack(user, video):
        raise PermissionDenied("Only the team's editors can change its stacks.")
    _refuse_locked(video)
    with transaction.atomic():
        moving = _locked(video.pk)
        if not _rest(moving).exists():
            raise ValidationError("That video is a stack of its own already.")
        _leave(moving)
        moving.stack_root_id, moving.stack_version, moving.stack_latest = moving.pk, 1, True
        moving.save(update_fields=["stack_root", "stack_version", "stack_latest"])
    return moving


def _refuse_locked(video: Video) -> None:
    if permissions.is_locked(video):
        raise ValidationError(
            "An approved version is locked: an approver reopens it before it changes stack."
        )


def _locked(pk: str) -> Video:
    return Video.objects.select_for_update().get(pk=pk)


def _rest(video: Video) -> QuerySet[Video]:
    return Video.objects.filter(stack_root_id=video.stack_root_id).exclude(pk=video.pk)


def _leave(video: Video) -> None:
    """Close the gap ``video`` leaves in its stack, hand on the latest flag, and when it
    was the stack's key (its first video), key the rest by their first version."""
    rest = _rest(video)
    rest.filter(stack_version__gt=video.stack_version).update(stack_version=F("stack_version") - 1)
    root_id = video.stack_root_id or video.pk
    if root_id == video.pk:
        first = rest.order_by("stack_version").values_list("pk", flat=True).first()
        if first is not None:
            rest.update(stack_root_id=first)
            _copy_approvers(video.pk, first)  # the stack keeps them; so does the leaver
            root_id = first
    if video.stack_latest:
        promote_highest(root_id, leaving=video.pk)


def _copy_approvers(old_key: str, new_key: str) -> None:
    StackApprover.objects.bulk_create(
        [
            StackApprover(root_id=new_key, user_id=user, added_by_id=added_by)
            for user, added_by in StackApprover.objects.filter(root_id=old_key).values_list(
                "user_id", "added_by_id"
            )
        ],
        ignore_conflicts=True,
    )
