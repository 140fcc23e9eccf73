"""The JSON objects the API answers with, shaped by the ``contract`` response models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from videos_app.models import Character, Video

from . import contract
from .models import ApiFile


def unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def video_object(video: Video) -> dict[str, Any]:
    error = None
    if video.error_code or video.status == Video.Status.FAILED:
        error = contract.VideoError(
            code=video.error_code or "internal_error",
            message=video.error_message or "The video could not be generated.",
        )
    return contract.Video(
        id=video.pk,
        model=video.model,
        status=video.status,
        progress=int(video.progress),
        created_at=stamp(video.created_at),
        completed_at=unix(video.completed_at),
        expires_at=unix(video.expires_at),
        prompt=video.prompt,
        size=video.size,
        seconds=str(video.seconds),
        remixed_from_video_id=video.remixed_from_video_id or None,
        error=error,
    ).model_dump()


def video_created_object(video: Video, take_ids: list[str] | None) -> dict[str, Any]:
    """The create's answer: the video, and the ids of its takes when ``n`` was given."""
    answer = video_object(video)
    if take_ids is None:
        return answer
    created = contract.VideoCreated.model_construct(**answer, takes=take_ids)
    return created.model_dump(warnings=False)


def video_list_object(videos: Sequence[Video], *, has_more: bool) -> dict[str, Any]:
    # Each item through video_object (already shaped), so the list is not checked twice.
    return contract.VideoList.model_construct(
        data=[video_object(video) for video in videos],
        first_id=videos[0].pk if videos else None,
        last_id=videos[-1].pk if videos else None,
        has_more=has_more,
    ).model_dump(warnings=False)


def video_deleted_object(video_id: str) -> dict[str, Any]:
    return contract.VideoDeleted(id=video_id).model_dump()


def character_object(character: Character) -> dict[str, Any]:
    return contract.Character(
        id=character.pk, name=character.name, created_at=stamp(character.created_at)
    ).model_dump()


def file_object(api_file: ApiFile) -> dict[str, Any]:
    return contract.File(
        id=api_file.pk,
        bytes=api_file.bytes,
        created_at=stamp(api_file.created_at),
        expires_at=unix(api_file.expires_at),
        filename=api_file.filename,
        purpose=api_file.purpose,
    ).model_dump()


def file_deleted_object(file_id: str) -> dict[str, Any]:
    return contract.FileDeleted(id=file_id).model_dump()
