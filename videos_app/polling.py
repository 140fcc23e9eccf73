"""Progress polls that cost one query.

A job's progress box polls every second or so, which makes its URL the most requested
in the studio. The detail page, rendered for a user who may see the video, hands the
box a signed token for that video; a poll that carries a valid token is answered
without loading the session or the user. A poll without one falls back to the
session, so the URL works for any signed-in user who may see the video.

The progress box and the status badge it re-sends are built here in Python, as plain
strings rather than a template render (a tenth of the cost). The detail page renders
them through the ``job_box`` and ``status_badge`` tags: one place for both.

Each answer tells the page when to poll again (``poll_delay``): a fraction of the job's
expected time left, paced by the job rather than by the tab, so a tab that opens a
long-running job does not start again at a poll a second (bench/bench_tabs.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from django.core import signing
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from . import permissions
from .providers.catalog import parse_size
from .providers.registry import LOCAL

if TYPE_CHECKING:
    from .models import Video

SALT = "studio.progress-poll"
# Long enough for the slowest upstream job; the page hands out a fresh token on reload.
MAX_AGE_SECONDS = 24 * 60 * 60


# --- Pacing: when the page polls again -----------------------------------------------
#
# The next poll comes after a fraction of the job's expected time left, so noticing the
# end late costs about that fraction of the wait, and a job polls O(log) times rather
# than once a second. Without a progress rate (a vendor that reports none) the expected
# time left is the job's prior estimate less what it has run, and a job past its estimate
# polls at a small fraction of its age instead; a queued job has all of its estimate
# ahead, plus as long again as it has waited. Jitter keeps the tabs that opened at once
# from polling in step.
FLOOR_SECONDS = 1.0
CAP_SECONDS = 30.0
FRACTION_OF_LEFT = 0.2
FRACTION_OF_AGE = 0.05  # without a progress rate: a 4-minute-old job polls every 12 s
JITTER = 0.2  # +-20%
# The prior estimate of a job's wall time, before it reports progress. The local
# renderer makes about 5 s of 1280x720 video per second of wall time on 2 cores
# (bench/RESULTS.md), plus the previews and storing; a remote service takes minutes.
LOCAL_SETUP_SECONDS = 3.0
LOCAL_SECONDS_PER_MEGAPIXEL_SECOND = 0.2
REMOTE_SETUP_SECONDS = 45.0
REMOTE_SECONDS_PER_SECOND = 10.0


class PacedJob(Protocol):
    """What paces a job's polls: a Video, or the poll's lighter JobProgress."""

    @property
    def status(self) -> str: ...
    @property
    def progress(self) -> int: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def seconds(self) -> int: ...
    @property
    def size(self) -> str: ...
    @property
    def provider(self) -> str: ...


def expected_seconds(job: PacedJob) -> float:
    """The prior estimate of a job's wall time, from its length, size and where it runs.

    The local renderer is the provider named ``local`` (the seed's); any other provider
    is taken for a remote service (no query: the poll reads one row)."""
    try:
        width, height = parse_size(job.size)
    except ValueError:
        width, height = 1280, 720
    if job.provider in ("", LOCAL):
        megapixels = width * height / 1e6
        return LOCAL_SETUP_SECONDS + LOCAL_SECONDS_PER_MEGAPIXEL_SECOND * job.seconds * megapixels
    return REMOTE_SETUP_SECONDS + REMOTE_SECONDS_PER_SECOND * job.seconds


def pace(job: PacedJob, now: datetime) -> float:
    """Seconds until the next poll, before jitter: within [FLOOR_SECONDS, CAP_SECONDS]."""
    if job.status == "in_progress" and job.started_at is not None:
        age = max(0.0, (now - job.started_at).total_seconds())
        if job.progress > 0:  # the job's own rate so far
            return paced(age * (100 - job.progress) / job.progress, 0.0)
        return paced(expected_seconds(job) - age, age)
    # Queued: all of the job is still ahead, and a long wait so far means more to come.
    waited = max(0.0, (now - job.created_at).total_seconds())
    return paced(expected_seconds(job) + waited, 0.0)


def paced(seconds_left: float, age: float) -> float:
    """The pace for an expected time left and an age: non-decreasing in both, bounded."""
    delay = max(FRACTION_OF_LEFT * seconds_left, FRACTION_OF_AGE * age)
    return min(CAP_SECONDS, max(FLOOR_SECONDS, delay))


_rng = random.Random()  # spacing polls, not a secret


def jittered(delay: float, rng: random.Random | None = None) -> float:
    """``delay`` +-JITTER, kept within the bounds, to a tenth of a second (htmx's delay)."""
    factor = (rng or _rng).uniform(1 - JITTER, 1 + JITTER)
    return round(min(CAP_SECONDS, max(FLOOR_SECONDS, delay * factor)), 1)


def poll_delay(jobs: Iterable[PacedJob], now: datetime, rng: random.Random | None = None) -> float:
    """When the page polls again for these jobs: as soon as the soonest one needs."""
    paces = [pace(job, now) for job in jobs]
    return jittered(min(paces) if paces else CAP_SECONDS, rng)


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
    waiting_reason: str = "",
) -> SafeString:
    """The progress box that polls ``url`` after ``delay`` seconds (htmx load polling);
    ``waiting_reason``: why a queued job may not start (``jobs.health.waiting_reason``)."""
    if video.status != "queued":
        state = "Rendering…"
    elif waiting_reason:
        state = escape(f"Queued \N{EM DASH} {waiting_reason}")
    else:
        state = "Waiting in the queue…"
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


def status_key(video: JobLike) -> str:
    """``Video.status_key`` of a row or of the poll's light read."""
    key = getattr(video, "status_key", None)
    return key if isinstance(key, str) else video.status


def status_badge(video: JobLike, *, oob: bool = False) -> SafeString:
    swap = ' hx-swap-oob="true"' if oob else ""
    return mark_safe(  # noqa: S308 (every value is escaped)
        f'<span id="status-badge" class="badge badge--{escape(status_key(video))}"{swap}>'
        f"{escape(video.get_status_display())}</span>"
    )
