"""Settings come from the environment, with safe defaults."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.live import ROOT

PRINT = (
    "import json, django; from django.conf import settings as s; django.setup(); "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], "
    "'options': s.DATABASES['default'].get('OPTIONS', {}), "
    "'q': {k: v for k, v in s.Q_CLUSTER.items() if k in ('orm', 'redis', 'name')}, "
    "'cache': s.CACHES['default']['BACKEND'], "
    "'prefix': s.CACHES['default'].get('KEY_PREFIX', ''), 'debug': s.DEBUG, "
    "'media': str(s.MEDIA_ROOT), 'secure': s.SESSION_COOKIE_SECURE}))"
)


def run(tmp_path: Path, code: str = PRINT, **env: str) -> subprocess.CompletedProcess[str]:
    # The defaults: none of the suite's own settings (make test names each process's queue).
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("STUDIO_")
    }
    base.update(STUDIO_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="studio.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_embedded_defaults_are_sqlite_in_wal_with_immediate_transactions(
    tmp_path: Path,
) -> None:
    result = run(tmp_path)
    config = json.loads(result.stdout)
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["options"]["init_command"]
    assert config["q"] == {"name": "studio", "orm": "default"}
    assert config["debug"] is False
    assert config["media"] == str(tmp_path / "media")
    # The generated secret key is kept in the data folder, private, and reused.
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    first = key_file.read_text()
    run(tmp_path)
    assert key_file.read_text() == first


def test_database_url_and_redis_url_switch_to_postgresql_and_the_redis_broker(
    tmp_path: Path,
) -> None:
    result = run(
        tmp_path,
        DATABASE_URL="postgres://studio@127.0.0.1:5432/studio",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    config = json.loads(result.stdout)
    assert config["engine"] == "django.db.backends.postgresql"
    assert config["q"] == {"name": "studio", "redis": "redis://127.0.0.1:6379/3"}
    assert config["cache"] == "studio.cache.OutageTolerantRedisCache"  # Redis, outage-tolerant
    assert config["prefix"] == "studio"  # its keys apart from another studio's on that Redis
    other = json.loads(
        run(tmp_path, REDIS_URL="redis://127.0.0.1:6379/3", STUDIO_QUEUE_NAME="second").stdout
    )
    assert other["prefix"] == "second" and other["q"]["name"] == "second"


def test_hosts_that_share_nothing_must_be_given_the_secret_key(tmp_path: Path) -> None:
    # A database and a bucket, no disk in common: each host would generate its own key.
    shared_nothing = {
        "DATABASE_URL": "postgres://studio@127.0.0.1:5432/studio",
        "STUDIO_S3_BUCKET": "studio-media",
        "SECRET_KEY": "",
    }
    result = run(tmp_path, **shared_nothing)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "secret_key").exists()
    given = run(tmp_path, **{**shared_nothing, "SECRET_KEY": secrets.token_urlsafe(50)})
    assert given.returncode == 0, given.stderr
    assert not (tmp_path / "secret_key").exists()


def test_check_deploy_passes_with_production_variables(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        code="import sys; from django.core.management import execute_from_command_line as e; "
        "e(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        STUDIO_HTTPS="1",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="studio.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_data_directory_and_stored_media_are_private_to_the_studio_user(
    tmp_path: Path,
) -> None:
    data = tmp_path / "new"
    code = (
        "import django; django.setup(); "
        "from django.core.files.base import ContentFile; "
        "from django.core.files.storage import default_storage; "
        "print(default_storage.save('videos/v/clip.mp4', ContentFile(b'x')))"
    )
    result = run(data, code)
    assert result.returncode == 0, result.stderr
    assert data.stat().st_mode & 0o777 == 0o700
    stored = data / "media" / result.stdout.strip()
    assert stored.stat().st_mode & 0o777 == 0o600
    assert stored.parent.stat().st_mode & 0o777 == 0o700
