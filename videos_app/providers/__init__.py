"""Generation backends. ``get_provider`` maps a provider name to an instance.

Nothing here imports Django at module level: the local renderer's child process is
started as ``python -m videos_app.providers.render_worker`` and loads this package.
"""

from __future__ import annotations

from .base import Provider


def get_provider(name: str) -> Provider:
    from django.conf import settings

    if name == "local":
        from .local import LocalRenderer

        # The default timeout grows with the job; the setting caps it.
        return LocalRenderer(max_timeout=settings.RENDER_TIMEOUT)
    raise LookupError(f"unknown provider {name!r}")
