"""django-q2 tasks for webhooks: they take ids and call the module that does the work."""

from __future__ import annotations

from .inbound import inbound_webhooks_prune
from .outbound import deliveries_prune, deliveries_send_due, delivery_attempt


def deliver_webhook(delivery_id: int) -> bool:
    return delivery_attempt(delivery_id=delivery_id) is not None


def webhooks_tick() -> int:
    """Each minute: send the retries that are due; forget old inbound webhook ids and
    finished deliveries older than outbound.KEEP_DELIVERIES."""
    inbound_webhooks_prune()
    deliveries_prune()
    return deliveries_send_due()
