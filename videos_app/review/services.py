"""Writes for reviewing a video: favorites, review state and approvals, comments (and
@mentions).

Who may do what is decided in permissions.py; these services check it again so that a
caller that forgot cannot write (PermissionDenied), and raise ValidationError for bad
input, changing nothing.

Replies: a reply to a reply attaches to the thread's root comment, so threads are one
level deep (a root and its replies in order). Deep nesting reads badly at phone width.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import permissions
from ..models import Video
from . import notes
from .models import Comment, Favorite, ReviewEvent, StackApprover

State = Video.ReviewState

# Allowed review transitions: from a state to the states it may move to. Moving to or from
# approved is an approver's (permissions.can_approve); out of approved only a reopen.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    State.DRAFT: (State.IN_REVIEW,),
    State.IN_REVIEW: (State.APPROVED, State.REJECTED, State.DRAFT),
    State.APPROVED: (State.IN_REVIEW,),
    State.REJECTED: (State.IN_REVIEW,),
}

COMMENT_MAX_LENGTH = 2000
# @name: Django's username characters, not ending a sentence's full stop ("thanks @maya.");
# an e-mail's "@" is not a mention (a word comes before it).
MENTION_RE = re.compile(r"(?<![\w.@+-])@([\w.@+-]*[\w@+-])")


def allowed_transitions(state: str) -> tuple[str, ...]:
    return TRANSITIONS.get(state, ())


def favorite_toggle(*, user: AbstractBaseUser, video: Video) -> bool:
    """Add or remove the video from the user's favorites; True when it is one now."""
    if not permissions.can_view_video(user, video):
        raise PermissionDenied("You cannot see this video.")
    deleted, _ = Favorite.objects.filter(user_id=user.pk, video_id=video.pk).delete()
    if deleted:
        return False
    try:
        with transaction.atomic():
            Favorite.objects.create(user_id=user.pk, video_id=video.pk)
    except IntegrityError:
        pass  # a second click raced this one: it is a favorite either way
    return True


def review_state_change(*, actor: AbstractBaseUser, video: Video, to_state: str) -> ReviewEvent:
    """Move the video to ``to_state``, recording who did it and when.

    The row is updated only if it still has the state the actor saw (``video``'s), so of
    two reviewers racing from the same state one wins and the other gets a
    ValidationError: no change goes unrecorded and none is recorded twice.
    """
    if not permissions.can_review(actor, video):
        raise PermissionDenied("Only the team's editors and admins can review this video.")
    if to_state not in State.values:
        raise ValidationError("Unknown review state.", code="invalid_state")
    from_state = video.review_state
    if to_state not in allowed_transitions(from_state):
        raise ValidationError(
            f"A video that is {State(from_state).label.lower()} cannot become "
            f"{State(to_state).label.lower()}.",
            code="invalid_transition",
        )
    _check_approval(actor, video, to_state)
    now = timezone.now()
    with transaction.atomic():
        updated = Video.objects.filter(pk=video.pk, review_state=from_state).update(
            review_state=to_state, review_changed_by=actor.pk, review_changed_at=now
        )
        if not updated:
            raise ValidationError(
                "Someone else changed the review state first; reload to see it.",
                code="stale_state",
            )
        event = ReviewEvent.objects.create(
            video_id=video.pk, actor_id=actor.pk, from_state=from_state, to_state=to_state
        )
    video.review_state = to_state
    video.review_changed_by = actor  # type: ignore[assignment]
    video.review_changed_at = now
    return event


def _check_approval(actor: AbstractBaseUser, video: Video, to_state: str) -> None:
    """Approving, and reopening what is approved (it is locked), are the approvers'; only
    a finished render can be approved (there is nothing to sign off before)."""
    if State.APPROVED not in (video.review_state, to_state):
        return
    if not permissions.can_approve(actor, video):
        verb = "reopen" if permissions.is_locked(video) else "approve"
        raise PermissionDenied(f"Only the approvers of this video's stack can {verb} it.")
    if to_state == State.APPROVED and not video.is_completed:
        raise ValidationError(
            "Only a finished video can be approved; this one has not rendered.",
            code="not_completed",
        )


def approvers_set(
    *, actor: AbstractBaseUser, video: Video, users: Iterable[AbstractBaseUser]
) -> list[StackApprover]:
    """Name who approves the versions of ``video``'s stack (none: the team's admins).

    Approvers are chosen among those who review the team's videos (its editors and
    admins); the list is replaced as a whole, so a second identical post changes nothing.
    """
    if not permissions.can_name_approvers(actor, video):
        raise PermissionDenied("Only the team's admins can name its approvers.")
    chosen = {user.pk: user for user in users}
    reviewers = set(permissions.approver_candidates(video.team_id).values_list("pk", flat=True))
    if not set(chosen) <= reviewers:
        raise ValidationError(
            "Approvers are chosen among the team's editors and admins.", code="not_reviewer"
        )
    root_id = permissions.stack_root_id(video)
    with transaction.atomic():
        StackApprover.objects.filter(root_id=root_id).exclude(user_id__in=chosen).delete()
        kept = set(StackApprover.objects.filter(root_id=root_id).values_list("user_id", flat=True))
        StackApprover.objects.bulk_create(
            StackApprover(root_id=root_id, user_id=pk, added_by_id=actor.pk)
            for pk in chosen
            if pk not in kept
        )
    if hasattr(video, "_studio_approver_ids"):
        del video._studio_approver_ids
    return list(StackApprover.objects.filter(root_id=root_id).select_related("user"))


def mentioned_users(*, author: AbstractBaseUser, video: Video, body: str) -> list[Any]:
    """Teammates named as ``@username`` in ``body`` (unknown names stay plain text)."""
    names = {match.lower() for match in MENTION_RE.findall(body)}
    if not names:
        return []
    teammates = permissions.teammates_of(author, video.team_id)
    return [u for u in teammates if u.get_username().lower() in names]


def comment_create(
    *,
    author: AbstractBaseUser,
    video: Video,
    body: str,
    parent: Comment | None = None,
    at_seconds: float | None = None,
    out_seconds: float | None = None,
    drawing: list[dict[str, Any]] | None = None,
) -> Comment:
    """A comment, a note at a moment or a range (snapped to frames), perhaps with a
    drawing of that frame; nothing is saved if any part is invalid."""
    if not permissions.can_comment(author, video):
        raise PermissionDenied("You cannot comment on this video.")
    body = body.strip()
    errors: dict[str, list[str]] = {}
    if not body:
        errors["body"] = ["Write something first."]
    elif len(body) > COMMENT_MAX_LENGTH:
        errors["body"] = [f"At most {COMMENT_MAX_LENGTH} characters (this has {len(body)})."]
    errors.update(notes.check_times(at_seconds, out_seconds, video.seconds))
    if drawing is not None:
        try:
            drawing = notes.clean_shapes(drawing)
        except ValidationError as exc:
            errors["drawing"] = exc.messages
        else:
            if drawing and at_seconds is None:
                errors["drawing"] = ["A drawing belongs to a frame: set the moment (At) too."]
    if parent is not None and parent.video_id != video.pk:
        errors["parent"] = ["That comment belongs to another video."]
    if errors:
        raise ValidationError(errors)
    if parent is not None and parent.parent_id is not None:
        parent = Comment.objects.get(pk=parent.parent_id)  # one level: attach to the root
    with transaction.atomic():
        comment = Comment.objects.create(
            video_id=video.pk,
            author_id=author.pk,
            parent=parent,
            body=body,
            at_seconds=None if at_seconds is None else notes.snap(at_seconds),
            out_seconds=None if out_seconds is None else notes.snap(out_seconds),
            drawing=drawing,
        )
        users = mentioned_users(author=author, video=video, body=body)
        if users:
            comment.mentions.set(users)
    return comment


def can_delete_comment(user: AbstractBaseUser, comment: Comment) -> bool:
    return bool(comment.author_id == user.pk or permissions.is_staff(user))


def comment_delete(*, actor: AbstractBaseUser, comment: Comment) -> None:
    """Delete a comment (its replies go with it): its author or staff only."""
    if not can_delete_comment(actor, comment):
        raise PermissionDenied("Only its author can delete a comment.")
    comment.delete()


def can_resolve_comment(user: AbstractBaseUser, comment: Comment, video: Video) -> bool:
    """A thread is resolved or reopened by its author or by those who review the video
    (the team's editors and admins, staff; the owner of a video without a team)."""
    if not permissions.can_view_video(user, video):
        return False
    return bool(comment.author_id == user.pk or permissions.can_review(user, video))


def comment_resolve(
    *, actor: AbstractBaseUser, video: Video, comment: Comment, resolved: bool
) -> Comment:
    """Resolve (or reopen) a thread, recording who resolved it and when.

    Idempotent: resolving a resolved thread keeps its first resolver. Replies are part of
    their thread and are not resolved on their own.
    """
    if not can_resolve_comment(actor, comment, video):
        raise PermissionDenied("Only its author and the video's editors can resolve a thread.")
    if comment.parent_id is not None:
        raise ValidationError("Resolve the thread, not a reply.", code="reply")
    threads = Comment.objects.filter(pk=comment.pk, video_id=video.pk)
    if resolved:
        now = timezone.now()
        if threads.filter(resolved_at__isnull=True).update(resolved_at=now, resolved_by=actor.pk):
            comment.resolved_at, comment.resolved_by_id = now, actor.pk
    else:
        threads.update(resolved_at=None, resolved_by=None)
        comment.resolved_at, comment.resolved_by_id = None, None
    return comment
