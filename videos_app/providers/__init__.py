"""Generation backends. ``get_provider`` maps a provider name to an instance."""

from __future__ import annotations

from django.conf import settings

from .base import Provider


def get_provider(name: str) -> Provider:
    if name == "local":
        from .local import LocalRenderer

        return LocalRenderer(timeout=settings.RENDER_TIMEOUT)
    raise LookupError(f"unknown provider {name!r}")
