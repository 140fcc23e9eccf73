"""django-q2 tasks: they take ids, and hand the work to ``videos_app.jobs``.

Their dotted paths (``videos_app.tasks.*``) are stored in the broker's queue and in
schedules (migration 0002): they stay here whatever moves behind them.
"""

from __future__ import annotations

from .images import kept_uploads_sweep
from .jobs.dispatch import video_job_run
from .jobs.outage import through_database_outages
from .jobs.recover import video_jobs_recover
from .jobs.remote import remote_copy_delete, remote_job_cancel


def render_video(video_id: str) -> None:
    through_database_outages(lambda: video_job_run(video_id=video_id))


def recover_stale_jobs() -> int:
    recovered = len(video_jobs_recover())
    # The same minute clears the create form's uploads kept past their hour.
    kept_uploads_sweep()
    return recovered


def delete_upstream_copy(provider_name: str, upstream_id: str) -> bool:
    return remote_copy_delete(provider_name=provider_name, upstream_id=upstream_id)


def cancel_remote_job(video_id: str) -> bool:
    return remote_job_cancel(video_id=video_id)
