"""django-q2 task of the inbox (its dotted path is stored in a schedule: it stays here)."""

from __future__ import annotations

from .services import emails_send_due


def inbox_tick() -> int:
    """Each minute, on the housekeeping queue: the batched notification emails that are due."""
    return emails_send_due()
