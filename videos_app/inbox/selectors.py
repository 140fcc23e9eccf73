"""Reads of the inbox: the top bar's unread count, the inbox page, a user's choices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from ..review.models import ReviewState
from .models import EMAIL_BY_DEFAULT, Kind, Notification, NotificationChoices

INBOX_PAGE_LIMIT = 100
# The count the top bar keeps on the request: a page that shows it twice asks once.
_UNREAD_ATTR = "_inbox_unread_count"


@dataclass(frozen=True)
class Choices:
    muted: frozenset[str]
    emailed: frozenset[str]

    def shows(self, kind: str) -> bool:
        return kind not in self.muted

    def emails(self, kind: str) -> bool:
        return kind in self.emailed and kind not in self.muted


DEFAULT_CHOICES = Choices(muted=frozenset(), emailed=frozenset(EMAIL_BY_DEFAULT))


def choices_of(users: list[Any]) -> dict[int, Choices]:
    """Each user's choices (the defaults where they have changed none), in one query."""
    rows = NotificationChoices.objects.filter(user_id__in=[u.pk for u in users])
    found = {
        row.user_id: Choices(muted=frozenset(row.muted), emailed=frozenset(row.emailed))
        for row in rows
    }
    return {u.pk: found.get(u.pk, DEFAULT_CHOICES) for u in users}


def choices_for(user: Any) -> Choices:
    return choices_of([user])[user.pk]


def unread_count(user: Any) -> int:
    """The user's unread notifications: one query on the partial index ``notification_unread``."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def unread_count_for_request(request: Any) -> int:
    """``unread_count`` once per request, however many times a page asks."""
    cached = getattr(request, _UNREAD_ATTR, None)
    if cached is None:
        cached = unread_count(getattr(request, "user", None))
        setattr(request, _UNREAD_ATTR, cached)
    return int(cached)


def forget_unread_count(request: Any) -> None:
    """After marking read in the same request, the next ask counts again."""
    if hasattr(request, _UNREAD_ATTR):
        delattr(request, _UNREAD_ATTR)


def inbox_of(user: Any) -> QuerySet[Notification]:
    """The user's newest notifications, with what each line shows."""
    return (
        Notification.objects.filter(user_id=user.pk)
        .select_related("video", "comment", "actor")
        .order_by("-created_at", "-id")[:INBOX_PAGE_LIMIT]
    )


def kind_label(kind: str) -> str:
    return str(Kind(kind).label) if kind in Kind.values else kind


def _excerpt(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_text(notification: Notification) -> str:
    """What happened, in one line of plain text (the inbox page and the emails)."""
    who = notification.actor.get_username() if notification.actor else "Someone"
    video = f"“{_excerpt(notification.video.prompt, 50)}”"
    said = f": {_excerpt(notification.comment.body)}" if notification.comment else ""
    match notification.kind:
        case Kind.MENTION:
            return f"{who} mentioned you on {video}{said}"
        case Kind.REPLY:
            return f"{who} replied to your comment on {video}{said}"
        case Kind.COMMENT:
            return f"{who} commented on your video {video}{said}"
        case Kind.SHARE_COMMENT:
            guest = notification.detail or "A share link's visitor"
            return f"{guest} commented through a share link on {video}"
        case Kind.REVIEW:
            # In the state's words ("changes requested"), not its stored value ("rejected").
            labels = dict(ReviewState.choices)
            state = str(labels.get(notification.detail, notification.detail)).lower()
            return f"{who} moved your video {video} to {state}"
        case Kind.JOB_COMPLETED:
            return f"Your video {video} is ready"
        case Kind.JOB_FAILED:
            reason = f" ({notification.detail})" if notification.detail else ""
            return f"Your video {video} failed{reason}"
    return f"{kind_label(notification.kind)}: {video}"
