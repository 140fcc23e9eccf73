"""Running video jobs, whatever the engine.

``dispatch`` decides a job's engine once and hands it to ``local`` (an in-process
engine) or ``remote`` (the generic exactly-once runner for any remote engine); both
run one attempt through ``attempt`` (claim, heartbeat, progress, complete, fail).
``recover`` is the stale-job sweep, ``wake`` cuts a remote poll's sleep short,
``health`` and ``views`` report whether the queue is moving, ``signals`` tells the rest
of the studio that a job finished. The django-q2 entry points stay in
``videos_app.tasks`` (their dotted paths are stored in the queue).
"""
