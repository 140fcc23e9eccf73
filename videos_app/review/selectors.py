"""Reads for reviewing videos: favorites, the review history, comment threads, mentions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .. import permissions
from ..accounts.selectors import time_format_for
from ..models import Video
from ..renderer.spec import FPS
from .models import Comment, Favorite, ReviewEvent, StackApprover
from .services import MENTION_RE

AnyUser = AbstractBaseUser | AnonymousUser
REVIEW_HISTORY_LIMIT = 20
MENTIONS_PAGE_LIMIT = 50


def is_favorite(*, user: AnyUser, video: Video) -> bool:
    return (
        user.is_authenticated
        and Favorite.objects.filter(user_id=user.pk, video_id=video.pk).exists()
    )


def review_history(*, video: Video) -> list[ReviewEvent]:
    events = ReviewEvent.objects.filter(video_id=video.pk).select_related("actor")
    return list(events[:REVIEW_HISTORY_LIMIT])


def stack_approvers(*, video: Video) -> list[StackApprover]:
    """The approvers named for the video's stack, by name (empty: its team's admins)."""
    if video.team_id is None:
        return []
    root_id = permissions.stack_root_id(video)
    return list(StackApprover.objects.filter(root_id=root_id).select_related("user"))


def format_seconds(value: float, time_format: str = "clock") -> str:
    """A moment as the user reads it: 12.34 -> "0:12.3" (minutes:seconds with tenths, as
    the player's time reads) or, as timecode, "00:00:12:08" (hours:minutes:seconds:frames,
    at the studio's frame rate)."""
    if time_format == "timecode":
        seconds, frames = divmod(round(value * FPS), FPS)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"
    tenths = round(value * 10)
    minutes, rest = divmod(tenths, 600)
    return f"{minutes}:{rest // 10:02d}.{rest % 10}"


def comment_html(comment: Comment, mentioned: set[str]) -> SafeString:
    """The body, escaped, with @names of mentioned users highlighted."""

    def mark(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.lower() in mentioned:
            return f'<span class="mention">@{name}</span>'
        return match.group(0)

    # Escaping leaves "@", letters, digits, "_", ".", "+" and "-" alone, so the mention
    # pattern finds the same names in the escaped text.
    return mark_safe(MENTION_RE.sub(mark, str(escape(comment.body))))  # noqa: S308


@dataclass
class Thread:
    root: Comment
    replies: list[Comment]

    @property
    def resolved(self) -> bool:
        return self.root.resolved_at is not None


def _decorate(comment: Comment, time_format: str) -> Comment:
    """The labels and data a comment's template shows: its body with mentions, its
    moment or range as the user reads times, its drawing as JSON for the player."""
    mentioned = {user.get_username().lower() for user in comment.mentions.all()}
    comment.body_html = comment_html(comment, mentioned)  # type: ignore[attr-defined]
    if comment.at_seconds is not None:
        comment.at_label = format_seconds(comment.at_seconds, time_format)  # type: ignore[attr-defined]
    if comment.out_seconds is not None:
        comment.out_label = format_seconds(comment.out_seconds, time_format)  # type: ignore[attr-defined]
    if comment.drawing:
        comment.drawing_json = json.dumps(comment.drawing, separators=(",", ":"))  # type: ignore[attr-defined]
    return comment


def comment_threads(*, video: Video, time_format: str = "clock") -> list[Thread]:
    """The video's comments as threads: each root comment with its replies, oldest first;
    moments labelled in ``time_format`` (see ``format_seconds``)."""
    comments = (
        Comment.objects.filter(video_id=video.pk)
        .select_related("author", "resolved_by")
        .prefetch_related("mentions")
        .order_by("created_at", "id")
    )
    threads: dict[int, Thread] = {}
    orphans: list[Comment] = []
    for comment in comments:
        _decorate(comment, time_format)
        if comment.parent_id is None:
            threads[comment.pk] = Thread(root=comment, replies=[])
        elif comment.parent_id in threads:
            threads[comment.parent_id].replies.append(comment)
        else:
            orphans.append(comment)  # nested deeper (made outside the service): show flat
    for comment in orphans:
        root = threads.get(_root_id(comment))
        if root is not None:
            root.replies.append(comment)
    return list(threads.values())


def _root_id(comment: Comment) -> int:
    while comment.parent is not None:
        comment = comment.parent
    return comment.pk


def comment_get(*, video: Video, comment_id: int) -> Comment:
    """A comment on this video (already checked visible); Comment.DoesNotExist otherwise."""
    return Comment.objects.select_related("author").get(pk=comment_id, video_id=video.pk)


def mentions_of(*, user: AnyUser) -> list[Comment]:
    """Comments that mention the user, on videos they can still see, newest first."""
    if not user.is_authenticated:
        return []
    visible = permissions.videos_visible_to(user).values("pk")
    comments: QuerySet[Comment] = (
        Comment.objects.filter(mentions=user.pk, video_id__in=visible)
        .select_related("author", "video")
        .prefetch_related("mentions")
        .order_by("-created_at", "-id")
    )
    time_format = time_format_for(user)
    return [_decorate(c, time_format) for c in comments[:MENTIONS_PAGE_LIMIT]]
