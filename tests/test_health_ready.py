"""``/healthz/ready``: 503 with the reason while the database, broker or cache is unreachable.

The outages are real: each service is pointed at a loopback port nothing listens on.
``/healthz`` (liveness) stays 200 throughout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import Client, override_settings

from studio import health

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def ready() -> tuple[int, dict[str, Any]]:
    response = Client().get("/healthz/ready")
    return response.status_code, response.json()


def test_it_is_ready_when_everything_answers() -> None:
    status, body = ready()
    assert status == 200, body
    assert body == {
        "ready": True,
        "checks": {"database": "ok", "broker": "ok", "cache": "ok"},
        "reasons": [],
    }


def test_an_unreachable_broker_is_a_503_naming_it(settings: Any) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": DEAD_REDIS}
    status, body = ready()
    assert status == 503
    assert body["checks"] == {"database": "ok", "broker": "unreachable", "cache": "ok"}
    assert body["reasons"][0].startswith("broker: ")
    assert Client().get("/healthz").status_code == 200  # still alive


def test_an_unreachable_cache_is_a_503_naming_it_though_pages_go_on() -> None:
    down = {
        "default": {
            "BACKEND": "studio.cache.OutageTolerantRedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    with override_settings(CACHES=down):
        status, body = ready()
    assert status == 503
    assert body["checks"]["cache"] == "unreachable"
    assert [r.split(":")[0] for r in body["reasons"]] == ["cache"]
    status, body = ready()
    assert status == 200  # and ready again once it answers


@pytest.fixture
def unreachable_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The readiness check's database connection points at a PostgreSQL that is not there."""
    config = {**connections["default"].settings_dict}
    config.update(
        ENGINE="django.db.backends.postgresql",
        NAME="studio",
        HOST="127.0.0.1",
        PORT="1",
        OPTIONS={"connect_timeout": 1},
    )
    from django.db.backends.postgresql.base import DatabaseWrapper

    wrapper = DatabaseWrapper(config, alias="unreachable")  # not one of the settings' aliases
    monkeypatch.setattr(health, "connections", {health.DATABASE: wrapper})
    yield
    wrapper.close()


def test_an_unreachable_database_is_a_503_naming_it(unreachable_database: None) -> None:
    status, body = ready()
    assert status == 503
    assert body["checks"]["database"] == "unreachable"
    assert body["reasons"][0].startswith("database: OperationalError")
