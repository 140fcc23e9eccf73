"""``manage.py worker``: the job worker, a django-q2 cluster (``make run`` starts it).

Before the cluster starts, tasks that a cluster killed outright had already taken from
the ORM broker are released: the broker hands a taken task out again only after its
``retry`` (17 minutes by default), so a queued video would wait that long after a crash.
A task released while another cluster runs it gets a twin, which finds its row taken.
"""

from __future__ import annotations

from typing import Any

from django_q.management.commands import qcluster

from videos_app.jobs.recover import orphaned_tasks_release


class Command(qcluster.Command):
    help = "Start the job worker (a django-q2 cluster), first releasing tasks a dead one took."

    def handle(self, *args: Any, **options: Any) -> None:
        if released := orphaned_tasks_release():
            self.stdout.write(f"Released {released} task(s) taken by a worker that stopped.")
        super().handle(*args, **options)
