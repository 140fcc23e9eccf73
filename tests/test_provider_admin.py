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


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (KEY, "not the key itself"),
        ("keys/upstream.key", "absolute path"),
        ("/proc/self/environ", "/proc, /sys or /dev"),
    ],
)
def test_a_key_file_must_be_a_path_outside_the_kernel(staff: Client, value: str, why: str) -> None:
    response = add(staff, api_key_env="", api_key_file=value)
    assert response.status_code == 200 and why in response.content.decode()
    assert not Provider.objects.filter(name="gateway").exists()


def test_a_key_file_in_the_studios_data_directory_is_refused(staff: Client, settings: Any) -> None:
    """Its secret key lives there: a provider pointed at it would send it upstream."""
    secret = f"{settings.DATA_DIR}/secret_key"
    response = add(
        staff,
        api_key_env="",
        api_key_file=f"{settings.DATA_DIR}/../{settings.DATA_DIR.name}/secret_key",
    )
    assert response.status_code == 200 and "data directory" in response.content.decode()
    assert add(staff, api_key_env="", api_key_file=secret).status_code == 200
    assert not Provider.objects.filter(name="gateway").exists()


def test_a_key_file_elsewhere_is_saved_and_read(staff: Client, tmp_path: Any) -> None:
    path = tmp_path / "upstream.key"
    path.write_text("sk-up-from-a-file\n")
    assert add(staff, api_key_env="", api_key_file=str(path)).status_code == 302
    listing = staff.get("/admin/videos_app/provider/").content.decode()
    assert str(path) in listing and "sk-up-from-a-file" not in listing


def test_a_key_stored_before_the_rules_is_neither_shown_nor_sent(staff: Client) -> None:
    from videos_app.providers.base import ProviderError
    from videos_app.providers.http import key_from

    Provider.objects.create(
        name="old", kind="openai_compatible", base_url="http://127.0.0.1:8611/v1",
        api_key_env=KEY, api_key_file="/proc/self/environ",
    )  # fmt: skip
    listing = staff.get("/admin/videos_app/provider/").content.decode()
    assert KEY not in listing and "(invalid)" in listing
    with pytest.raises(ProviderError) as refused:
        key_from(file="/proc/self/environ")()
    assert refused.value.code == "provider_misconfigured" and "environ" not in str(refused.value)


def test_a_saved_providers_name_cannot_change(staff: Client) -> None:
    """Videos find their provider (to poll, remix, delete upstream) by its name."""
    add(staff)
    provider = Provider.objects.get(name="gateway")
    page = staff.get(f"/admin/videos_app/provider/{provider.pk}/change/").content.decode()
    assert 'name="name"' not in page  # shown, not editable
    staff.post(
        f"/admin/videos_app/provider/{provider.pk}/change/",
        {"name": "renamed", "kind": "openai_compatible", "label": "Gateway", "enabled": "on",
         "base_url": "http://127.0.0.1:8611/v1", "api_key_env": "UPSTREAM_KEY",
         "api_key_file": "", "webhook_secret_env": "", "timeout_seconds": "60",
         "connect_timeout_seconds": "5", "max_concurrency": "4"},
    )  # fmt: skip
    provider.refresh_from_db()
    assert provider.name == "gateway"


def test_a_missing_key_tells_the_user_what_not_where(monkeypatch: pytest.MonkeyPatch) -> None:
    from videos_app.providers.base import ProviderError
    from videos_app.providers.http import key_from

    monkeypatch.delenv("SECRET_UPSTREAM_VAR", raising=False)
    with pytest.raises(ProviderError) as missing:
        key_from(env="SECRET_UPSTREAM_VAR")()
    assert "not set" in str(missing.value) and "SECRET_UPSTREAM_VAR" not in str(missing.value)


def test_the_change_page_shows_the_inbound_webhook_url_and_whether_it_is_open(
    staff: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(staff, webhook_secret_env="GATEWAY_HOOK_SECRET")
    provider = Provider.objects.get(name="gateway")
    url = f"/admin/videos_app/provider/{provider.pk}/change/"
    monkeypatch.delenv("GATEWAY_HOOK_SECRET", raising=False)
    page = staff.get(url).content.decode()
    assert "/webhooks/providers/gateway (off: answers 404" in page
    monkeypatch.setenv("GATEWAY_HOOK_SECRET", "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
    page = staff.get(url).content.decode()
    assert "/webhooks/providers/gateway (secret set" in page
    assert "c2VjcmV0LXNlY3JldC1zZWNyZXQ" not in page
