"""Whether a provider's key works: one cheap authenticated call, through its engine.

``manage.py providers check`` and the admin's "Check connection" both ask here, so they
build the engine, call its ``probe()`` and word the outcome the same way.
"""

from __future__ import annotations

import contextlib
import logging
from typing import NamedTuple

from .base import ProviderError
from .http import key_from
from .models import Provider
from .registry import engine_builder

logger = logging.getLogger(__name__)


class CheckResult(NamedTuple):
    ok: bool
    message: str
    # False when the engine has no probe(): nothing was asked, nothing is known.
    checkable: bool = True


def provider_check(row: Provider) -> CheckResult:
    """Build ``row``'s engine and make its one probe call; never raises, never shows the key."""
    try:
        engine = engine_builder(row.kind)(row)
    except LookupError:
        return CheckResult(False, f"The engine kind {row.kind!r} is not registered.")
    except ProviderError as exc:
        return CheckResult(False, _redacted(row, f"{exc.code}: {exc.message}"))
    probe = getattr(engine, "probe", None)
    try:
        if not callable(probe):
            return CheckResult(
                False, f"The {row.kind} engine cannot be checked (it has no probe).", False
            )
        try:
            seen = str(probe())
        except ProviderError as exc:
            return CheckResult(False, _redacted(row, f"{exc.code}: {exc.message}"))
        except Exception as exc:  # an engine's bug: say what kind, log the rest
            logger.exception("Checking provider %s failed", row.name)
            return CheckResult(False, f"unexpected_error: {type(exc).__name__} (see the log).")
        return CheckResult(True, _redacted(row, seen))
    finally:
        close = getattr(engine, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):
                close()


def _redacted(row: Provider, text: str) -> str:
    """``text`` with the provider's key blotted out, should an upstream have echoed it."""
    if not (row.api_key_env or row.api_key_file):
        return text
    try:
        key = key_from(env=row.api_key_env, file=row.api_key_file)()
    except ProviderError:
        return text
    return text.replace(key, "[key]") if len(key) >= 4 else text
