"""The engine kinds: every kind of generation backend the studio can run jobs on.

To add an engine:

1. Write one file, ``videos_app/providers/<kind>.py``, with a class that implements
   ``base.RemoteEngine`` (a service elsewhere: ``check``, ``submit``, ``status``,
   ``find_lost``, ``fetch``, ``delete``, ``close``) or ``base.InProcessEngine`` (``run``
   here), and a ``from_row(row)`` classmethod that builds it from its ``Provider`` row.
   A remote engine only translates; ``videos_app.jobs.remote`` runs it exactly once
   (claims, create sent at most once, lost-create reconciliation, polling, hand-over,
   copying the files home and verifying them). ``openai_compatible.py`` is the example;
   ``http.py`` has the backoff, ``retry-after``, pooled client and key source.
2. Add one line to ``ENGINES`` below: kind -> (label, dotted path of the class, or of
   any callable that takes the row and returns the engine, and what its row needs:
   ``"base_url"``, ``"key"``; the provider admin asks for those).
3. ``manage.py makemigrations videos_app``: ``Provider.kind``'s choices come from here.

A deployment (or a test) can add kinds without touching this file: the
``STUDIO_ENGINES`` setting maps more kinds to ``(label, dotted path)``, merged over these.

Nothing here imports Django's models: ``Provider.kind`` takes its choices from
``kind_choices`` (a migration names that function: keep it here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from .base import Engine
from .capabilities import Capabilities

LOCAL = "local"
OPENAI_COMPATIBLE = "openai_compatible"
GEMINI_OMNI = "gemini_omni"
VERTEX_VEO = "vertex_veo"
FAL = "fal"
RUNWAY = "runway"
OPENROUTER = "openrouter"
DIFFUSERS = "diffusers"


class EngineKind(NamedTuple):
    label: str
    path: str  # dotted path of the engine class (or of a callable taking the row)
    # What its Provider row must give, checked by the admin form: "base_url", "key".
    needs: tuple[str, ...] = ()
    # Its jobs need this host's GPU: they go to settings.GPU_QUEUE, which only
    # ``manage.py worker --gpu`` takes (one job at a time per GPU).
    gpu: bool = False


ENGINES: dict[str, EngineKind] = {
    LOCAL: EngineKind("Local renderer", "videos_app.providers.registry.local_engine"),
    OPENAI_COMPATIBLE: EngineKind(
        "OpenAI-compatible /v1/videos service",
        "videos_app.providers.openai_compatible.OpenAICompatibleProvider",
        needs=("base_url", "key"),
    ),
    GEMINI_OMNI: EngineKind(
        "Google Gemini Omni (Gemini API)",
        "videos_app.providers.gemini_omni.GeminiOmniEngine",
        needs=("key",),
    ),
    VERTEX_VEO: EngineKind(
        "Google Veo on Vertex AI",
        "videos_app.providers.vertex_veo.VertexVeoEngine",
        needs=("base_url", "key"),
    ),
    FAL: EngineKind("fal (queue API)", "videos_app.providers.fal.FalEngine", needs=("key",)),
    RUNWAY: EngineKind("Runway", "videos_app.providers.runway.RunwayEngine", needs=("key",)),
    OPENROUTER: EngineKind(
        "OpenRouter (video API)",
        "videos_app.providers.openrouter.OpenRouterEngine",
        needs=("key",),
    ),
    DIFFUSERS: EngineKind(
        "Open weights on this host's GPU (diffusers)",
        "videos_app.providers.diffusers.DiffusersEngine",
        gpu=True,
    ),
}


def engines() -> dict[str, EngineKind]:
    """The built-in kinds, with ``settings.STUDIO_ENGINES`` merged over them."""
    from django.conf import settings

    extra = getattr(settings, "STUDIO_ENGINES", None) or {}
    return {**ENGINES, **{kind: EngineKind(*entry) for kind, entry in extra.items()}}


def kind_choices() -> list[tuple[str, str]]:
    """``Provider.kind``'s choices."""
    return [(kind, entry.label) for kind, entry in engines().items()]


def needs(kind: str) -> tuple[str, ...]:
    """What a Provider row of ``kind`` must give (nothing for an unknown kind)."""
    entry = engines().get(kind)
    return entry.needs if entry is not None else ()


def runs_on_gpu(kind: str) -> bool:
    """Whether jobs of an engine of ``kind`` go to the GPU queue."""
    entry = engines().get(kind)
    return entry is not None and entry.gpu


def runs_here(kind: str) -> bool:
    """Whether an engine of ``kind`` makes videos on the studio's own hosts (free: no
    vendor bills a second of it)."""
    return kind == LOCAL or runs_on_gpu(kind)


def gpu_kinds() -> list[str]:
    return [kind for kind, entry in engines().items() if entry.gpu]


def engine_builder(kind: str) -> Callable[[Any], Engine]:
    """What builds an engine of ``kind`` from its row; LookupError for an unknown kind."""
    from django.utils.module_loading import import_string

    entry = engines().get(kind)
    if entry is None:
        raise LookupError(f"unknown engine kind {kind!r}")
    target = import_string(entry.path)
    builder: Callable[[Any], Engine] = getattr(target, "from_row", target)
    return builder


def local_engine(row: Any) -> Engine:
    """The embedded renderer (its class takes no row: its limits are settings)."""
    from django.conf import settings

    from .local import LocalRenderer

    # The default timeout grows with the job; the setting caps it.
    return LocalRenderer(max_timeout=settings.RENDER_TIMEOUT, nice=settings.RENDER_NICE)


# What a kind's models take when its engine class says nothing (``capabilities_for``):
# the studio's renderer makes everything but a last frame, references and sound; a
# /v1/videos service takes what the retired API took.
KIND_CAPABILITIES = {
    LOCAL: Capabilities(seed=True, extend=True, edit=True, remix=True),
    OPENAI_COMPATIBLE: Capabilities(extend=True, edit=True, remix=True),
}


def _documented(kind: str, reader_name: str, model: str) -> Any:
    """What the engine class of ``kind`` documents for ``model`` (its ``reader_name``
    class method), or None."""
    from django.utils.module_loading import import_string

    entry = engines().get(kind)
    if entry is None:
        return None
    try:
        target = import_string(entry.path)
    except ImportError:
        return None
    reader = getattr(target, reader_name, None)
    return reader(model) if callable(reader) else None


def capabilities(kind: str, model: str) -> Capabilities:
    """What ``model`` takes on an engine of ``kind``, as its engine documents it."""
    result = _documented(kind, "capabilities_for", model)
    if isinstance(result, Capabilities):
        return result
    return KIND_CAPABILITIES.get(kind, KIND_CAPABILITIES[OPENAI_COMPATIBLE])


def documented_prices(kind: str, model: str) -> dict[str, Decimal]:
    """The vendor's list prices of ``model`` (a ``prices`` table; empty: unknown)."""
    result = _documented(kind, "prices_for", model)
    return dict(result) if isinstance(result, Mapping) else {}
