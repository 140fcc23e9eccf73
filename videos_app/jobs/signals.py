"""Signals other parts of the studio listen to.

``video_finished`` is sent once a job's row has been marked completed or failed (after
the write, outside any transaction): ``sender`` is ``Video``, with ``video_id`` and
``status``. Outbound webhooks hang off it.
"""

from __future__ import annotations

from django.dispatch import Signal

video_finished = Signal()
