"""Webhooks: events the studio sends to its users' endpoints, and events upstream
providers send to the studio (both signed as Standard Webhooks)."""
