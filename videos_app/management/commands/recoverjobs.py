"""Queue again the jobs whose worker died (the scheduler runs this every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from videos_app.jobs.recover import video_jobs_recover


class Command(BaseCommand):
    help = "Re-enqueue video jobs whose heartbeat went stale (worker killed, task lost)."

    def handle(self, *args: Any, **options: Any) -> None:
        ids = video_jobs_recover()
        self.stdout.write(f"Re-enqueued {len(ids)} job(s).")
        for video_id in ids:
            self.stdout.write(f"  {video_id}")
