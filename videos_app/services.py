"""Every write the studio makes goes through here: pages and the API call the same code."""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath

from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django_q.tasks import async_task

from . import catalog
from .models import Video

logger = logging.getLogger(__name__)


def video_create(
    *,
    owner: User,
    prompt: str,
    model: str = catalog.DEFAULT_MODEL,
    size: str = catalog.DEFAULT_SIZE,
    seconds: int = catalog.DEFAULT_SECONDS,
    reference_png: bytes | None = None,
) -> Video:
    """Save a new video job and queue it to render once the transaction commits.

    The arguments are already validated (by a form or an API schema); the reference image,
    if any, is PNG bytes of exactly ``size``.
    """
    route = catalog.MODELS[model]
    video = Video(
        owner=owner, prompt=prompt, model=model, size=size, seconds=seconds, provider=route.provider
    )
    try:
        with transaction.atomic():
            video.save()
            if reference_png is not None:
                video.reference_image.save("reference.png", ContentFile(reference_png))
            transaction.on_commit(lambda: video_enqueue(video_id=video.pk))
    except BaseException:
        # No row, so no file either.
        storage_delete(video_file_names(video))
        raise
    return video


def video_enqueue(*, video_id: str) -> None:
    async_task(
        "videos_app.tasks.render_video",
        video_id,
        task_name=f"render {video_id}",
        group="render",
    )


def video_can_delete(*, video: Video, user: AbstractBaseUser) -> bool:
    return bool(video.owner_id == user.pk or getattr(user, "is_staff", False))


def video_delete(*, video: Video, actor: AbstractBaseUser) -> None:
    """Delete a finished video and, once that has committed, its files."""
    if not video_can_delete(video=video, user=actor):
        raise PermissionDenied("Only the video's creator or staff can delete it.")
    if not video.is_finished:
        raise ValidationError(
            "This video is still rendering; it can be deleted once it has finished.",
            code="not_finished",
        )
    names = video_file_names(video)
    with transaction.atomic():
        video.delete()
        transaction.on_commit(lambda: storage_delete(names))


def video_file_names(video: Video) -> list[str]:
    fields = (video.reference_image, video.video_file, video.thumbnail_file, video.spritesheet_file)
    return [field.name for field in fields if field.name]


def storage_delete(names: list[str]) -> None:
    """Delete stored files, and the folders they leave empty on a local filesystem."""
    folders = set()
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("could not delete %s", name)
        folders.add(posixpath.dirname(name))
    for folder in folders:
        # Not empty, already gone, or not a local filesystem: leave it.
        with contextlib.suppress(NotImplementedError, OSError):
            os.rmdir(default_storage.path(folder))
