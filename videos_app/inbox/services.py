"""Writes of the inbox: notifying (whom, respecting their choices, never the actor about
their own action), marking read, a user's choices, and the batched emails.

The triggers are receivers (``receivers.py``): the review and jobs packages know nothing
of the inbox.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from .. import permissions
from .models import Kind, Notification, NotificationChoices
from .selectors import choices_of, line_text

log = logging.getLogger(__name__)

# A burst (a busy thread) gathers this long before its email goes; then a user gets at
# most one email per window, whatever comes in meanwhile.
EMAIL_GATHER = timedelta(minutes=2)
EMAIL_WINDOW = timedelta(minutes=10)


def notify(
    *,
    users: Iterable[Any],
    kind: str,
    video: Any,
    actor: Any = None,
    comment: Any = None,
    detail: str = "",
) -> list[Notification]:
    """One notification per user who wants this kind and can still see the video; the
    actor is never told of their own action."""
    actor_id = getattr(actor, "pk", actor)
    recipients = {u.pk: u for u in users if u is not None and u.pk != actor_id}
    wanted = [
        u for u in recipients.values() if u.is_active and permissions.can_view_video(u, video)
    ]
    choices = choices_of(wanted)
    rows = [
        Notification(
            user_id=u.pk,
            kind=kind,
            video_id=video.pk,
            comment_id=getattr(comment, "pk", None),
            actor_id=actor_id,
            detail=detail[:64],
            email=choices[u.pk].emails(kind),
        )
        for u in wanted
        if choices[u.pk].shows(kind)
    ]
    return Notification.objects.bulk_create(rows)


def notify_mentioned(*, comment: Any, users: Iterable[Any]) -> None:
    """A mention outranks the comment or reply line the same user got for the same comment:
    that line becomes the mention (one line per comment per user)."""
    users = [u for u in users if u.pk != comment.author_id]
    choices = choices_of(users)
    existing = set(
        Notification.objects.filter(
            comment_id=comment.pk, user_id__in=[u.pk for u in users]
        ).values_list("user_id", flat=True)
    )
    for user_id in existing:
        if choices[user_id].shows(Kind.MENTION):
            Notification.objects.filter(comment_id=comment.pk, user_id=user_id).update(
                kind=Kind.MENTION, email=choices[user_id].emails(Kind.MENTION)
            )
    notify(
        users=[u for u in users if u.pk not in existing],
        kind=Kind.MENTION,
        video=comment.video,
        actor=comment.author_id,
        comment=comment,
    )


def mark_read(*, notification: Notification) -> None:
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=timezone.now()
        )


def mark_all_read(*, user: Any) -> int:
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def choices_update(*, user: Any, muted: Iterable[str], emailed: Iterable[str]) -> None:
    known = set(Kind.values)
    NotificationChoices.objects.update_or_create(
        user=user,
        defaults={
            "muted": sorted(set(muted) & known),
            "emailed": sorted(set(emailed) & known),
        },
    )


def emails_send_due(now: datetime | None = None) -> int:
    """Each user whose oldest unsent notification has gathered ``EMAIL_GATHER``, and who was
    not emailed within ``EMAIL_WINDOW``, gets one email listing all their unsent ones;
    returns how many emails went out. Read in the studio first: no email for those."""
    now = now or timezone.now()
    pending = Notification.objects.filter(email=True, emailed_at__isnull=True)
    pending.filter(read_at__isnull=False).update(email=False)
    due = (
        pending.filter(read_at__isnull=True)
        .values("user_id")
        .annotate(oldest=Min("created_at"))
        .filter(oldest__lte=now - EMAIL_GATHER)
        .values_list("user_id", flat=True)
    )
    sent = 0
    for user_id in list(due):
        if Notification.objects.filter(user_id=user_id, emailed_at__gt=now - EMAIL_WINDOW).exists():
            continue
        sent += _email_user(user_id, now)
    return sent


def _email_user(user_id: int, now: datetime) -> int:
    # Claimed with the stamp before sending: a second worker's tick finds nothing to send.
    with transaction.atomic():
        claimed = Notification.objects.filter(
            user_id=user_id, email=True, emailed_at__isnull=True, read_at__isnull=True
        ).update(emailed_at=now)
    if not claimed:
        return 0
    rows = list(
        Notification.objects.filter(user_id=user_id, emailed_at=now)
        .select_related("user", "video", "comment", "actor")
        .order_by("created_at", "id")
    )
    address = rows[0].user.email if rows else ""
    if not address:
        return 0  # nowhere to send: they stay in the inbox, marked as handled
    site = settings.SITE_URL.rstrip("/")
    lines = [f"- {line_text(n)}\n  {site}{n.video.get_absolute_url()}" for n in rows]
    subject = (
        f"{len(rows)} new notifications in studio"
        if len(rows) > 1
        else f"studio: {line_text(rows[0])}"[:120]
    )
    body = "\n".join(
        [
            f"Hello {rows[0].user.get_username()},",
            "",
            *lines,
            "",
            f"Your inbox: {site}/inbox/",
            f"What is emailed to you: {site}/inbox/choices/",
        ]
    )
    try:
        send_mail(subject, body, None, [address])
    except Exception:
        log.exception("inbox: emailing user %s failed; trying again at the next tick", user_id)
        Notification.objects.filter(pk__in=[n.pk for n in rows]).update(emailed_at=None)
        return 0
    return 1
