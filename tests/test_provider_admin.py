"""The provider admin refuses a provider that cannot work, and never stores a pasted key."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import make_user
from videos_app.models import Provider

KEY = "sk-studio-abc123-PastedByMistake0000000000"


@pytest.fixture
def staff(db: None) -> Client:
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))  # type: ignore[arg-type]
    return client


def add(staff: Client, **fields: Any) -> Any:
    data = {
        "name": "gateway",
        "kind": "openai_compatible",
        "label": "Gateway",
        "enabled": "on",
        "base_url": "http://127.0.0.1:8611/v1",
        "api_key_env": "UPSTREAM_KEY",
        "api_key_file": "",
        "webhook_secret_env": "",
        "timeout_seconds": "60",
        "connect_timeout_seconds": "5",
        "max_concurrency": "4",
        **fields,
    }
    return staff.post("/admin/videos_app/provider/add/", data)


def test_a_key_pasted_as_the_variable_name_is_refused_and_not_stored(staff: Client) -> None:
    response = add(staff, api_key_env=KEY)
    assert response.status_code == 200
    assert "not the API key itself" in response.content.decode()
    assert not Provider.objects.filter(name="gateway").exists()
    assert KEY not in str(list(Provider.objects.values()))


def test_an_upstream_needs_a_base_url_and_a_key_source(staff: Client) -> None:
    html = add(staff, base_url="", api_key_env="").content.decode()
    assert "Give the service&#x27;s base URL" in html
    assert "Name the environment variable (or below, the file) that holds the key." in html
    assert not Provider.objects.filter(name="gateway").exists()


def test_a_well_formed_upstream_is_saved(staff: Client) -> None:
    response = add(staff, webhook_secret_env="GATEWAY_WEBHOOK_SECRET")
    assert response.status_code == 302
    provider = Provider.objects.get(name="gateway")
    assert (provider.api_key_env, provider.webhook_secret_env) == (
        "UPSTREAM_KEY",
        "GATEWAY_WEBHOOK_SECRET",
    )


def test_a_local_provider_needs_no_url_or_key(staff: Client) -> None:
    response = add(staff, name="local-2", kind="local", base_url="", api_key_env="")
    assert response.status_code == 302
