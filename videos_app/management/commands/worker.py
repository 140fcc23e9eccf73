"""``manage.py worker``: the job worker, a django-q2 cluster (``make run`` starts it).

``--housekeeping`` runs the housekeeping cluster instead: webhook deliveries and their
retries, and the stale-job sweep, on a queue of their own (``settings.HOUSEKEEPING_QUEUE``)
so that they never wait behind renders. A studio needs one of each running somewhere.

Before the cluster starts, tasks that a cluster killed outright had already taken from
the ORM broker are released: the broker hands a taken task out again only after its
``retry`` (17 minutes by default), so a queued video would wait that long after a crash.
A task released while another cluster runs it gets a twin, which finds its row taken.
"""

from __future__ import annotations

import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django_q.conf import Conf
from django_q.management.commands import qcluster

from videos_app.jobs.recover import orphaned_tasks_release


class Command(qcluster.Command):
    help = "Start the job worker (a django-q2 cluster), first releasing tasks a dead one took."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--housekeeping",
            action="store_true",
            help="Run the housekeeping cluster (webhooks, the sweep) instead of the renders'.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["housekeeping"] and Conf.CLUSTER_NAME != settings.HOUSEKEEPING_QUEUE:
            # django-q2 reads its cluster's name once, at import, from Q_CLUSTER_NAME.
            env = {**os.environ, "Q_CLUSTER_NAME": settings.HOUSEKEEPING_QUEUE}
            os.execve(sys.executable, [sys.executable, *sys.argv], env)  # noqa: S606  (this same command, re-run)
        if Conf.CLUSTER_NAME == settings.HOUSEKEEPING_QUEUE:
            # Its stats apart from the render clusters': a studio whose render workers
            # are all gone reads as stalled (/healthz/queue) even while this one runs.
            Conf.Q_STAT = f"django_q:{Conf.PREFIX}:housekeeping"
        if released := orphaned_tasks_release():
            self.stdout.write(f"Released {released} task(s) taken by a worker that stopped.")
        super().handle(*args, **options)
