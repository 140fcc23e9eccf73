"""The progress box and status badge, built in Python.

They are re-sent by every progress poll, the studio's most frequent response, so they
are plain strings rather than a template render (a tenth of the cost). The detail page
renders them through the ``job_box`` and ``status_badge`` tags: one place for both.
"""

from __future__ import annotations

from typing import Protocol

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


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
