"""Progress polls that cost one query.

A job's progress box polls every second or so, which makes its URL the most requested
in the studio. The detail page, rendered for a user who may see the video, hands the
box a signed token for that video; a poll that carries a valid token is answered
without loading the session or the user. A poll without one falls back to the
session, so the URL works for any signed-in user who may see the video.

The progress box and the status badge it re-sends are built here in Python, as plain
strings rather than a template render (a tenth of the cost). The detail page renders
them through the ``job_box`` and ``status_badge`` tags: one place for both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from django.core import signing
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from . import permissions

if TYPE_CHECKING:
    from .models import Video

SALT = "studio.progress-poll"
# Long enough for the slowest upstream job; the page hands out a fresh token on reload.
MAX_AGE_SECONDS = 24 * 60 * 60


def poll_delay(polls_so_far: int) -> float:
    """Seconds until the next progress poll: quick at first, then backing off to 10 s."""
    return min(10.0, round(1.0 * 1.25**polls_so_far * 2) / 2)


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


# --- The progress box and status badge ----------------------------------------------


class JobLike(Protocol):
    """A Video, or the poll's lighter JobProgress."""

    @property
    def status(self) -> str: ...
    @property
    def progress(self) -> int: ...
    def get_status_display(self) -> str: ...


def job_box(
    video: JobLike,
    *,
    url: str,
    poll_n: int,
    poll_token: str,
    delay: float,
    seconds_left: int | None,
) -> SafeString:
    """The progress box that polls ``url`` after ``delay`` seconds (htmx load polling)."""
    state = "Waiting in the queue…" if video.status == "queued" else "Rendering…"
    progress = int(video.progress)
    left = (
        f'<span class="muted">about {int(seconds_left)} s left</span>'
        if seconds_left is not None
        else ""
    )
    return mark_safe(  # noqa: S308 (every value is an int or escaped)
        f'<div id="job" class="job" role="status" aria-live="polite" '
        f'hx-get="{escape(url)}?n={int(poll_n)}&amp;t={escape(poll_token)}" '
        f'hx-trigger="load delay:{float(delay)}s" hx-swap="outerHTML">'
        f'<p class="job__state">{state}</p>'
        f'<progress id="job-progress" class="job__bar" max="100" value="{progress}" '
        f'aria-label="Render progress">{progress}%</progress>'
        f'<p class="job__numbers"><span class="job__percent">{progress}%</span>{left}</p>'
        "</div>"
    )


def status_badge(video: JobLike, *, oob: bool = False) -> SafeString:
    swap = ' hx-swap-oob="true"' if oob else ""
    return mark_safe(  # noqa: S308 (every value is escaped)
        f'<span id="status-badge" class="badge badge--{escape(video.status)}"{swap}>'
        f"{escape(video.get_status_display())}</span>"
    )
