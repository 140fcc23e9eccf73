"""Reads of sharing: the link a token opens, what a link shows, the lists of links with
their uses, and the visitors' comments as the team sees them."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .. import permissions
from ..models import Team, Video
from ..review.selectors import format_seconds
from .models import SharedComment, ShareLink

USES_SHOWN = 20  # the newest uses listed under a link
UNLOCK_SALT = "studio.sharing.unlock"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ip_hash(request: HttpRequest) -> str:
    """The client's address as a keyed hash: uses from one address can be told apart from
    another's without the table holding anyone's address."""
    address = request.META.get("REMOTE_ADDR", "")
    digest = hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def working_q() -> Q:
    """Links that still open: not revoked, not expired."""
    return Q(revoked_at__isnull=True) & (
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )


def link_for_token(token: str) -> ShareLink | None:
    """The working link this token opens; None for any other token (unknown, revoked,
    expired look the same)."""
    return ShareLink.objects.filter(working_q(), token_hash=token_hash(token)).first()


def shared_videos(link: ShareLink) -> QuerySet[Video]:
    """What the link shows: its finished videos, oldest first (the order they were made)."""
    return link.videos.filter(status=Video.Status.COMPLETED).order_by("created_at", "id")


def shared_video(link: ShareLink, video_id: str) -> Video | None:
    """One of the link's finished videos; None for any other id, however it was found."""
    return shared_videos(link).filter(pk=video_id).first()


def unlock_cookie_name(link: ShareLink) -> str:
    return f"share{link.pk}"


def unlock_salt(link: ShareLink) -> str:
    """Salted with the passphrase's hash too: a new passphrase locks every browser again."""
    return f"{UNLOCK_SALT}:{link.pk}:{link.passphrase_hash[-16:]}"


def is_unlocked(request: HttpRequest, link: ShareLink) -> bool:
    """Open to this browser: no passphrase asked, or this browser gave it (a signed
    cookie scoped to the link's path)."""
    if not link.passphrase_hash:
        return True
    try:
        value = request.get_signed_cookie(unlock_cookie_name(link), salt=unlock_salt(link))
    except (KeyError, signing.BadSignature):
        return False
    return value == str(link.pk)


def _labelled(comments: QuerySet[SharedComment], time_format: str) -> list[SharedComment]:
    """The comments, each moment labelled as the reader reads times (``format_seconds``)."""
    rows = list(comments)
    for comment in rows:
        if comment.at_seconds is not None:
            comment.at_label = format_seconds(comment.at_seconds, time_format)  # type: ignore[attr-defined]
    return rows


def guest_comments(link: ShareLink, video: Video) -> list[SharedComment]:
    """What a visitor sees of the conversation: only what was said through this link."""
    return _labelled(SharedComment.objects.filter(link=link, video=video), "clock")


def comments_via_links(video: Video, time_format: str = "clock") -> list[SharedComment]:
    """Every visitor's comment on the video, for the team (with its link's label)."""
    comments = SharedComment.objects.filter(video=video).select_related("link")
    return _labelled(comments, time_format)


def _with_uses(links: QuerySet[ShareLink]) -> list[ShareLink]:
    """The links with their use count and newest uses (a query per link: a list is short,
    and a link's uses are not, so they are never all read)."""
    rows = links.annotate(use_count=Count("uses"), last_used=Max("uses__created_at"))
    result: list[ShareLink] = list(rows.select_related("created_by").prefetch_related("videos"))
    for link in result:
        link.recent_uses = list(link.uses.all()[:USES_SHOWN])  # type: ignore[attr-defined]
        link.is_working = link.revoked_at is None and (  # type: ignore[attr-defined]
            link.expires_at is None or link.expires_at > timezone.now()
        )
    return result


def links_of_video(video: Video) -> list[ShareLink]:
    """Every link that shows this video, newest first, with their uses."""
    return _with_uses(ShareLink.objects.filter(videos=video))


def links_of_team(team: Team) -> list[ShareLink]:
    return _with_uses(ShareLink.objects.filter(team=team))


def can_manage_link(user: Any, link: ShareLink) -> bool:
    """Revoke, read its uses: its maker, the team's editors and admins, staff."""
    if not user.is_authenticated:
        return False
    if permissions.is_staff(user) or link.created_by_id == user.pk:
        return True
    return link.team_id is not None and permissions.role_in(user, link.team_id) in (
        permissions.REVIEW_ROLES
    )


def can_list_team_links(user: Any, team: Team) -> bool:
    return permissions.is_staff(user) or permissions.role_in(user, team) in (
        permissions.REVIEW_ROLES
    )
