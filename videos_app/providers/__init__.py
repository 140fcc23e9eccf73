"""Generation backends. ``get_provider`` maps a provider name to an instance.

Nothing here imports Django at module level: the local renderer's child process is
started as ``python -m videos_app.providers.render_worker`` and loads this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Provider

if TYPE_CHECKING:
    from videos_app.models import Provider as ProviderRow

    from .openai_compatible import OpenAICompatibleProvider


def get_provider(name: str) -> Provider | OpenAICompatibleProvider:
    """The backend for a provider name: its ``Provider`` row decides (kind, URL, key).

    ``local`` without a row is the embedded renderer, as before providers were rows.
    """
    from django.conf import settings

    from videos_app.models import Provider as ProviderModel

    row = ProviderModel.objects.filter(name=name).first()
    if (row is None and name == "local") or (row is not None and row.kind == row.Kind.LOCAL):
        from .local import LocalRenderer

        # The default timeout grows with the job; the setting caps it.
        return LocalRenderer(max_timeout=settings.RENDER_TIMEOUT)
    if row is not None and row.kind == row.Kind.OPENAI_COMPATIBLE:
        return upstream_provider(row)
    raise LookupError(f"unknown provider {name!r}")


def upstream_provider(row: ProviderRow) -> OpenAICompatibleProvider:
    """An ``OpenAICompatibleProvider`` built from a ``Provider`` row (key read per call)."""
    from .openai_compatible import OpenAICompatibleProvider, key_from, shared_client

    return OpenAICompatibleProvider(
        name=row.name,
        base_url=row.base_url,
        api_key=key_from(env=row.api_key_env, file=row.api_key_file),
        timeout=row.timeout_seconds,
        connect_timeout=row.connect_timeout_seconds,
        max_concurrency=row.max_concurrency,
        client=shared_client(row.base_url, row.timeout_seconds, row.connect_timeout_seconds),
    )
