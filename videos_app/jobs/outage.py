"""A task that meets a database outage waits it out instead of failing.

django-q2 acknowledges a task that raised (``ack_failures``): taken during a database
outage, a job's task failed at once and was gone, leaving its row queued with nothing to
run it. Instead the task waits until the database answers again (checking every few
seconds) and then runs the job: the row's conditional claim still decides who runs it,
so running it late, or beside a twin the sweeper queued meanwhile, runs it once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

# Longer than a database restart or fail-over; well inside the task's own timeout.
GIVE_UP_AFTER_SECONDS = 300.0
CHECK_EVERY_SECONDS = 2.0


def database_answers() -> bool:
    try:
        connection.close()  # a connection broken by the outage is never reused
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def through_database_outages(
    run: Callable[[], None],
    *,
    give_up_after: float = GIVE_UP_AFTER_SECONDS,
    check_every: float = CHECK_EVERY_SECONDS,
) -> None:
    """``run()``; if it fails because the database cannot be reached, wait and run it again.

    An OperationalError while the database answers is a real error and is raised as is.
    """
    deadline = time.monotonic() + give_up_after
    while True:
        try:
            run()
            return
        except (OperationalError, InterfaceError) as error:
            if database_answers():
                raise
            logger.warning("the database cannot be reached (%s); waiting for it", error)
            while not database_answers():
                if time.monotonic() >= deadline:
                    raise
                time.sleep(check_every)
            logger.warning("the database answers again; running the task")
