"""What the inbox hears: comments and their mentions, review events, finished jobs.

Connected in ``videos_app/apps.py``; the packages that send these know nothing of the inbox.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model

from ..models import CANCELLED, Comment, ReviewEvent, Video
from . import services
from .models import Kind

log = logging.getLogger(__name__)


def on_comment_saved(sender: Any, *, instance: Comment, created: bool, **kwargs: Any) -> None:
    """A reply tells the thread's root author; a comment tells the video's owner (once,
    as a reply if they are both). Mentions come after, in ``on_mentions_added``."""
    if not created:
        return
    video = instance.video
    told: set[int] = set()
    if instance.parent_id is not None:
        root = instance.parent
        if root is not None:
            services.notify(
                users=[root.author],
                kind=Kind.REPLY,
                video=video,
                actor=instance.author_id,
                comment=instance,
            )
            told.add(root.author_id)
    if video.owner_id not in told:
        services.notify(
            users=[video.owner],
            kind=Kind.COMMENT,
            video=video,
            actor=instance.author_id,
            comment=instance,
        )


def on_mentions_added(
    sender: Any,
    *,
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    if action != "post_add" or reverse or not pk_set or not isinstance(instance, Comment):
        return
    users = list(get_user_model().objects.filter(pk__in=pk_set))
    services.notify_mentioned(comment=instance, users=users)


def on_review_event(sender: Any, *, instance: ReviewEvent, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    video = instance.video
    services.notify(
        users=[video.owner],
        kind=Kind.REVIEW,
        video=video,
        actor=instance.actor_id,
        detail=instance.to_state,
    )


def on_video_finished(sender: Any, *, video_id: str, status: str, **kwargs: Any) -> None:
    """The owner hears of their job; a cancelled one was stopped on purpose: no line.
    A failure here is logged, never the job's."""
    try:
        _job_finished(video_id, status)
    except Exception:
        log.exception("inbox: could not notify of video %s", video_id)


def _job_finished(video_id: str, status: str) -> None:
    video = Video.objects.select_related("owner").filter(pk=video_id).first()
    if video is None or video.error_code == CANCELLED:
        return
    if status == Video.Status.COMPLETED:
        services.notify(users=[video.owner], kind=Kind.JOB_COMPLETED, video=video)
    elif status == Video.Status.FAILED:
        services.notify(
            users=[video.owner], kind=Kind.JOB_FAILED, video=video, detail=video.error_code
        )
