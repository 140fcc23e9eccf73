"""Progress polls that cost one query.

A job's progress box polls every second or so, which makes its URL the most requested
in the studio. The detail page, rendered for a user who may see the video, hands the
box a signed token for that video; a poll that carries a valid token is answered
without loading the session or the user. A poll without one falls back to the
session, so the URL works for any signed-in user who may see the video.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core import signing

from . import permissions

if TYPE_CHECKING:
    from .models import Video

SALT = "studio.progress-poll"
# Long enough for the slowest upstream job; the page hands out a fresh token on reload.
MAX_AGE_SECONDS = 24 * 60 * 60


def poll_token(video_id: str) -> str:
    """``timestamp:signature`` for the video (the id itself is already in the URL)."""
    return signing.TimestampSigner(salt=SALT).sign(video_id).removeprefix(f"{video_id}:")


def poll_token_for(user: permissions.AnyUser, video: Video) -> str:
    """A poll token for a video this user may see; "" (no token: the poll falls back to
    the session) for anyone else, so a token is never issued for a hidden video."""
    if not permissions.can_view_video(user, video):
        return ""
    return poll_token(video.pk)


def poll_token_valid(token: str, video_id: str) -> bool:
    try:
        signing.TimestampSigner(salt=SALT).unsign(f"{video_id}:{token}", max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return False
    return True
