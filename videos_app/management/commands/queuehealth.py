"""Is the job queue moving? Exit status 1 and the reasons when it is stalled."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from videos_app.jobs.health import default_stall_after, queue_health


class Command(BaseCommand):
    help = (
        "Report the job queue's health: stalled (exit status 1) when jobs wait with no worker "
        "progress, no worker cluster runs while work waits, or dead jobs are not recovered."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--minutes",
            type=float,
            default=None,
            help="How long a job may wait without worker progress (default: "
            f"{default_stall_after().total_seconds() / 60:g}).",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        minutes = options["minutes"]
        health = queue_health(stall_after=timedelta(minutes=minutes) if minutes else None)
        if options["json"]:
            self.stdout.write(json.dumps(health.as_dict()))
        else:
            oldest = health.oldest_queued_seconds
            self.stdout.write(
                f"queue: {health.queue}\n"
                f"clusters: {_text(health.clusters)}, queued: {health.queued}"
                f"{f' (oldest {oldest} s)' if oldest is not None else ''}, "
                f"running: {health.running}, stale: "
                f"{health.stale_running}, finished recently: {health.finished_recently}, "
                f"broker tasks waiting: {_text(health.waiting_tasks)}"
            )
        if health.stalled:
            raise CommandError("the job queue is stalled: " + "; ".join(health.reasons))


def _text(value: int | None) -> str:
    return "unknown" if value is None else str(value)
