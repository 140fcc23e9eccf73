"""Writes of sharing: making and revoking links, recording their uses, unlocking one with
its passphrase (rate-limited), and the comments visitors leave.

Who may share is ``permissions.can_share``; these services check it again so that a
caller that forgot cannot write (PermissionDenied), and raise ValidationError for bad
input, changing nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .. import permissions
from ..api import ratelimit
from ..inbox import services as inbox_services
from ..inbox.models import Kind
from ..models import Video
from ..review.services import COMMENT_MAX_LENGTH
from .models import SharedComment, ShareLink, ShareUse
from .selectors import can_manage_link, ip_hash, token_hash

# Wrong passphrases allowed per minute: for one link (from anywhere), and from one
# address (over every link). A passphrase is a person's word, not a 256-bit token.
FAILURES_PER_LINK = 10
FAILURES_PER_ADDRESS = 20
LABEL_MAX_LENGTH = 100


class Throttled(Exception):
    """Too many wrong passphrases lately; ``seconds`` until the next try is counted."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def share_create(
    *,
    user: Any,
    videos: Sequence[Video],
    label: str = "",
    passphrase: str = "",
    expires_in: timedelta | None,
    allow_comments: bool,
    allow_download: bool,
) -> tuple[ShareLink, str]:
    """A new link and its token: the token is in the link, and nowhere else after this
    call (the caller shows it once). Every video must be finished, shareable by ``user``
    and in one team (or all in none), so the link belongs to that team."""
    if not videos:
        raise ValidationError({"videos": ["Pick at least one video to share."]})
    if any(not permissions.can_share(user, video) for video in videos):
        raise PermissionDenied("Only the team's editors and admins can share its videos.")
    if any(not video.is_completed for video in videos):
        raise ValidationError({"videos": ["Only finished videos can be shared."]})
    teams = {video.team_id for video in videos}
    if len(teams) > 1:
        raise ValidationError({"videos": ["Share the videos of one team at a time."]})
    label = " ".join(label.split())[:LABEL_MAX_LENGTH] or _default_label(videos)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = ShareLink.objects.create(
            token_hash=token_hash(token),
            label=label,
            team_id=teams.pop(),
            passphrase_hash=make_password(passphrase) if passphrase else "",
            allow_comments=allow_comments,
            allow_download=allow_download,
            created_by=user,
            expires_at=timezone.now() + expires_in if expires_in is not None else None,
        )
        link.videos.set(videos)
    return link, token


def _default_label(videos: Sequence[Video]) -> str:
    first = " ".join(videos[0].prompt.split())
    label = first if len(first) <= 60 else first[:59] + "…"
    return label if len(videos) == 1 else f"{label} (+{len(videos) - 1})"


def share_revoke(*, user: Any, link: ShareLink) -> bool:
    """End the link now; False if it was revoked already."""
    if not can_manage_link(user, link):
        raise PermissionDenied("Only its maker and the team's editors can revoke a link.")
    return bool(
        ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def use_record(
    *, link: ShareLink, request: HttpRequest, kind: str, video: Video | None = None
) -> ShareUse:
    return ShareUse.objects.create(
        link=link,
        kind=kind,
        video=video,
        ip_hash=ip_hash(request),
        user_agent=request.headers.get("User-Agent", "")[:120],
    )


def _buckets(link: ShareLink, request: HttpRequest) -> list[tuple[str, int]]:
    address = request.META.get("REMOTE_ADDR", "")
    return [
        (f"share-passphrase:link:{link.pk}", FAILURES_PER_LINK),
        (f"share-passphrase:ip:{address}", FAILURES_PER_ADDRESS),
    ]


def share_unlock(*, link: ShareLink, request: HttpRequest, passphrase: str) -> bool:
    """Check a passphrase; True when it opens the link. Throttled (before checking
    anything) once the link, or this address, has had too many wrong ones this minute."""
    buckets = _buckets(link, request)
    for bucket, limit in buckets:
        seen = ratelimit.rate_limit_peek(bucket, limit=limit)
        if seen is not None and seen.remaining <= 0:
            raise Throttled(seen.reset_seconds)
    if link.passphrase_hash and check_password(passphrase, link.passphrase_hash):
        use_record(link=link, request=request, kind=ShareUse.Kind.UNLOCKED)
        return True
    for bucket, limit in buckets:
        ratelimit.rate_limit_hit(bucket, limit=limit)
    use_record(link=link, request=request, kind=ShareUse.Kind.REFUSED)
    return False


def shared_comment_create(
    *,
    link: ShareLink,
    video: Video,
    request: HttpRequest,
    name: str,
    email: str = "",
    body: str,
    at_seconds: float | None = None,
) -> SharedComment:
    """A visitor's comment on a video the link shows; the video's owner is told (the
    inbox's ``share_comment``)."""
    if not link.allow_comments:
        raise PermissionDenied("This link does not take comments.")
    if not link.videos.filter(pk=video.pk).exists():
        raise PermissionDenied("This link does not show that video.")
    name, body = " ".join(name.split()), body.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Say who you are: a name the team will see."]
    if not body:
        errors["body"] = ["Write something first."]
    elif len(body) > COMMENT_MAX_LENGTH:
        errors["body"] = [f"At most {COMMENT_MAX_LENGTH} characters (this has {len(body)})."]
    if at_seconds is not None and not (0 <= at_seconds <= video.seconds):
        errors["at_seconds"] = [f"A moment between 0 and {video.seconds} s."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        comment = SharedComment.objects.create(
            link=link,
            video=video,
            guest_name=name[:80],
            guest_email=email.strip(),
            body=body,
            at_seconds=None if at_seconds is None else round(at_seconds, 2),
        )
        use_record(link=link, request=request, kind=ShareUse.Kind.COMMENTED, video=video)
        inbox_services.notify(
            users=[video.owner], kind=Kind.SHARE_COMMENT, video=video, detail=comment.guest_name
        )
    return comment


def shared_comment_delete(*, user: Any, comment: SharedComment) -> None:
    """Take a visitor's comment down: whoever may share the video (its editors)."""
    if not permissions.can_share(user, comment.video):
        raise PermissionDenied("Only the team's editors can delete a visitor's comment.")
    comment.delete()
