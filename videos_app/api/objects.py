"""The JSON objects the API answers with, every key present on every response."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from videos_app.models import Character, Video

from .models import ApiFile


def unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def video_object(video: Video) -> dict[str, Any]:
    error = None
    if video.error_code or video.status == Video.Status.FAILED:
        error = {
            "code": video.error_code or "internal_error",
            "message": video.error_message or "The video could not be generated.",
        }
    return {
        "id": video.pk,
        "object": "video",
        "model": video.model,
        "status": video.status,
        "progress": int(video.progress),
        "created_at": unix(video.created_at),
        "completed_at": unix(video.completed_at),
        "expires_at": unix(video.expires_at),
        "prompt": video.prompt,
        "size": video.size,
        "seconds": str(video.seconds),
        "remixed_from_video_id": video.remixed_from_video_id or None,
        "error": error,
    }


def video_list_object(videos: Sequence[Video], *, has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [video_object(video) for video in videos],
        "first_id": videos[0].pk if videos else None,
        "last_id": videos[-1].pk if videos else None,
        "has_more": has_more,
    }


def video_deleted_object(video_id: str) -> dict[str, Any]:
    return {"id": video_id, "object": "video.deleted", "deleted": True}


def character_object(character: Character) -> dict[str, Any]:
    return {"id": character.pk, "name": character.name, "created_at": unix(character.created_at)}


def file_object(api_file: ApiFile) -> dict[str, Any]:
    return {
        "id": api_file.pk,
        "object": "file",
        "bytes": api_file.bytes,
        "created_at": unix(api_file.created_at),
        "expires_at": unix(api_file.expires_at),
        "filename": api_file.filename,
        "purpose": api_file.purpose,
        "status": "processed",
        "status_details": None,
    }


def file_deleted_object(file_id: str) -> dict[str, Any]:
    return {"id": file_id, "object": "file", "deleted": True}
