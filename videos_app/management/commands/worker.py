"""``manage.py worker``: the job worker, a django-q2 cluster (``make run`` starts it).

``--housekeeping`` runs the housekeeping cluster instead: webhook deliveries and their
retries, and the stale-job sweep, on a queue of their own (``settings.HOUSEKEEPING_QUEUE``)
so that they never wait behind renders. A studio needs one of each running somewhere.

``--gpu`` runs a GPU worker: the jobs of routes whose engine runs on this host's GPU
(``diffusers``), on their own queue (``settings.GPU_QUEUE``) that no other worker takes,
one job at a time (one worker process, whose model child keeps the pipeline loaded
between jobs). Start one per GPU (``CUDA_VISIBLE_DEVICES`` picks it).

Before the cluster starts, tasks that a cluster killed outright had already taken from
the ORM broker are released: the broker hands a taken task out again only after its
``retry`` (17 minutes by default), so a queued video would wait that long after a crash.
A task released while another cluster runs it gets a twin, which finds its row taken.

A worker started while its broker (Redis) cannot be reached waits for it, as does one
whose broker went away while it was starting (django-q2 gives up on such a start): a
studio whose host brings Redis up late, or a worker restarted during an outage, runs
once Redis answers instead of exiting.
"""

from __future__ import annotations

import os
import sys
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.management.commands import qcluster

from videos_app.jobs.health import gpu_stat_key
from videos_app.jobs.recover import orphaned_tasks_release, video_jobs_recover


class Command(qcluster.Command):
    help = "Start the job worker (a django-q2 cluster), first releasing tasks a dead one took."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--housekeeping",
            action="store_true",
            help="Run the housekeeping cluster (webhooks, the sweep) instead of the renders'.",
        )
        which.add_argument(
            "--gpu",
            action="store_true",
            help="Run a GPU worker (the diffusers engine's jobs, one at a time) instead.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queues = {"housekeeping": settings.HOUSEKEEPING_QUEUE, "gpu": settings.GPU_QUEUE}
        wanted = next((queues[name] for name in queues if options[name]), None)
        if wanted and wanted != Conf.CLUSTER_NAME:
            # django-q2 reads its cluster's name once, at import, from Q_CLUSTER_NAME.
            env = {**os.environ, "Q_CLUSTER_NAME": wanted}
            os.execve(sys.executable, [sys.executable, *sys.argv], env)  # noqa: S606  (this same command, re-run)
        if Conf.CLUSTER_NAME == settings.HOUSEKEEPING_QUEUE:
            # Its stats apart from the render clusters': a studio whose render workers
            # are all gone reads as stalled (/healthz/queue) even while this one runs.
            Conf.Q_STAT = f"django_q:{Conf.PREFIX}:housekeeping"
        elif Conf.CLUSTER_NAME == settings.GPU_QUEUE:
            # Counted apart too: a GPU job's page says when no GPU worker reports.
            Conf.Q_STAT = gpu_stat_key()
        self.broker_wait()
        if released := orphaned_tasks_release():
            self.stdout.write(f"Released {released} task(s) taken by a worker that stopped.")
        try:
            super().handle(*args, **options)
        except RuntimeError:  # the sentinel died starting
            if broker_reachable():
                raise
            self.stderr.write("The broker went away while the worker was starting.")
            self.broker_wait()
            # A clean process for the next start (django-q2's start is not re-entrant).
            os.execve(sys.executable, [sys.executable, *sys.argv], dict(os.environ))  # noqa: S606

    def broker_wait(self) -> None:
        if broker_reachable():
            return
        self.stderr.write("Waiting for the broker to answer.")
        pause = 1.0
        while not broker_reachable():
            time.sleep(pause)
            pause = min(pause * 2, BROKER_WAIT_MAX_SECONDS)
        # What the broker lost meanwhile is queued again now, not at the next sweep.
        if requeued := video_jobs_recover():
            self.stdout.write(f"Queued again {len(requeued)} job(s) the broker lost.")
        self.stdout.write("The broker answers; starting.")


BROKER_WAIT_MAX_SECONDS = 5.0  # between tries, once an outage has lasted a while


def broker_reachable() -> bool:
    """Whether the broker answers (the ORM broker always does while its database does)."""
    try:
        get_broker().ping()
    except Exception:  # any failure to answer is "not yet"
        return False
    return True
