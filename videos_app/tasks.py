"""django-q2 tasks: they take ids, and hand the work to a service."""

from __future__ import annotations

from .jobs import video_job_run, video_jobs_recover


def render_video(video_id: str) -> None:
    video_job_run(video_id=video_id)


def recover_stale_jobs() -> int:
    return len(video_jobs_recover())


def delete_upstream_copy(provider_name: str, upstream_id: str) -> bool:
    from .jobs_upstream import upstream_copy_delete

    return upstream_copy_delete(provider_name=provider_name, upstream_id=upstream_id)
