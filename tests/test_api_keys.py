"""API keys: format, storage, checks, last use, rate limits, the settings page, admin, CLI."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.api_helpers import (  # noqa: F401  (fixtures)
    Key,
    api_fixture,
    api_key_fixture,
    assert_error,
    make_key,
)
from tests.factories import make_user
from videos_app.api import keys, ratelimit
from videos_app.api.admin import ApiKeyAdmin
from videos_app.models import ApiKey

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"^sk-studio-[a-z0-9]{12}-[A-Za-z0-9]{40}$")


class TestKeys:
    def test_a_new_key_has_the_studio_format_and_only_its_hmac_is_stored(self, user: User) -> None:
        row, raw = keys.api_key_create(user=user, name="laptop")
        assert KEY_RE.match(raw)
        secret = raw.rsplit("-", 1)[1]
        assert row.prefix == raw.split("-")[2]
        assert secret not in row.secret_hash
        assert re.fullmatch(r"[0-9a-f]{64}", row.secret_hash)
        assert row.secret_hash == keys.secret_hash(secret)

    def test_it_authenticates_a_key_and_refuses_a_wrong_secret(self, api_key: Key) -> None:
        assert keys.api_key_authenticate(api_key.raw) == api_key.row
        tampered = api_key.raw[:-1] + ("a" if api_key.raw[-1] != "a" else "b")
        assert keys.api_key_authenticate(tampered) is None
        assert keys.api_key_authenticate("sk-studio-short") is None
        assert keys.api_key_authenticate("") is None

    def test_a_key_signed_with_a_fallback_secret_key_still_works(
        self, api_key: Key, settings: Any
    ) -> None:
        settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
        settings.SECRET_KEY = "rotated-" + settings.SECRET_KEY
        assert keys.api_key_authenticate(api_key.raw) == api_key.row
        settings.SECRET_KEY_FALLBACKS = []
        assert keys.api_key_authenticate(api_key.raw) is None

    def test_unknown_and_revoked_keys_answer_401(self, api_key: Key) -> None:
        unknown = "sk-studio-" + "a" * 12 + "-" + "b" * 40
        assert_error(
            Client(HTTP_AUTHORIZATION=f"Bearer {unknown}").get("/v1/videos"),
            401,
            code="invalid_api_key",
        )
        keys.api_key_revoke(key=api_key.row)
        response = Client(**api_key.headers).get("/v1/videos")
        error = assert_error(response, 401, code="invalid_api_key")
        assert api_key.raw not in error["message"]

    def test_a_deactivated_users_keys_stop_working(self, api_key: Key, user: User) -> None:
        user.is_active = False
        user.save()
        assert_error(Client(**api_key.headers).get("/v1/videos"), 401)

    def test_a_key_acts_as_its_user(self, api: Client, user: User) -> None:
        video_id = api.post("/v1/videos", {"prompt": "p"}).json()["id"]
        assert ApiKey.objects.get().user == user
        from videos_app.models import Video

        assert Video.objects.get(pk=video_id).owner == user

    def test_last_used_is_written_at_most_once_a_minute(
        self, api: Client, api_key: Key, django_assert_num_queries: Any
    ) -> None:
        assert api_key.row.last_used_at is None
        with django_assert_num_queries(3):  # key, last_used_at, page
            api.get("/v1/videos")
        first = ApiKey.objects.get().last_used_at
        assert first is not None
        with django_assert_num_queries(2):  # key, page: no write
            api.get("/v1/videos")
        assert ApiKey.objects.get().last_used_at == first
        ApiKey.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
        api.get("/v1/videos")
        assert ApiKey.objects.get().last_used_at > first  # type: ignore[operator]


class TestRateLimit:
    def test_it_answers_429_with_retry_after_past_the_limit(
        self, api: Client, settings: Any
    ) -> None:
        settings.STUDIO_API_RATE_LIMIT = 3
        for _ in range(3):
            response = api.get("/v1/videos")
            assert response.status_code == 200
        assert response["x-ratelimit-limit-requests"] == "3"
        assert response["x-ratelimit-remaining-requests"] == "0"
        response = api.get("/v1/videos")
        error = assert_error(response, 429, code="rate_limit_exceeded")
        assert 1 <= int(response["retry-after"]) <= 60
        assert int(response["retry-after-ms"]) == int(response["retry-after"]) * 1000
        assert "try again in" in error["message"]

    def test_each_key_has_its_own_budget(self, api: Client, user: User, settings: Any) -> None:
        settings.STUDIO_API_RATE_LIMIT = 1
        assert api.get("/v1/videos").status_code == 200
        assert api.get("/v1/videos").status_code == 429
        other = Client(**make_key(user).headers)
        assert other.get("/v1/videos").status_code == 200

    def test_the_window_resets_each_minute(self, settings: Any) -> None:
        settings.STUDIO_API_RATE_LIMIT = 2
        now = 60.0 * 16_667 + 20  # 20 s into a minute
        assert not ratelimit.rate_limit_hit("b", now=now).exceeded  # type: ignore[union-attr]
        assert not ratelimit.rate_limit_hit("b", now=now).exceeded  # type: ignore[union-attr]
        usage = ratelimit.rate_limit_hit("b", now=now)
        assert usage is not None and usage.exceeded and usage.reset_seconds == 40
        assert not ratelimit.rate_limit_hit("b", now=now + 40).exceeded  # type: ignore[union-attr]

    def test_processes_share_their_counts_in_batches(
        self, settings: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        settings.STUDIO_API_RATE_LIMIT = 100  # batches of 2
        now = 60.0 * 20_000 + 5
        key = "api-ratelimit:batch:20000"
        ratelimit.rate_limit_hit("batch", now=now)
        assert cache.get(key) is None  # counted locally only
        ratelimit.rate_limit_hit("batch", now=now)
        assert cache.get(key) == 2
        # Another process (a fresh local table) sees the shared count and stops at the limit.
        monkeypatch.setattr(ratelimit, "_counters", {})
        cache.set(key, 99)
        assert not ratelimit.rate_limit_hit("batch", now=now).exceeded  # type: ignore[union-attr]
        usage = ratelimit.rate_limit_hit("batch", now=now)
        assert usage is not None and usage.exceeded
        assert cache.get(key) == 101

    def test_the_limit_comes_from_settings_or_the_environment(
        self, settings: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        del settings.STUDIO_API_RATE_LIMIT
        monkeypatch.delenv("STUDIO_API_RATE_LIMIT", raising=False)
        assert ratelimit.requests_per_minute() == 600
        monkeypatch.setenv("STUDIO_API_RATE_LIMIT", "120/min")
        assert ratelimit.requests_per_minute() == 120
        settings.STUDIO_API_RATE_LIMIT = 0
        assert ratelimit.rate_limit_hit("x") is None

    def test_an_unauthenticated_request_is_not_counted(self, client: Client) -> None:
        assert "x-ratelimit-limit-requests" not in client.get("/v1/videos")


@pytest.mark.urls("tests.api_helpers")
class TestSettingsPage:
    def test_it_needs_a_signed_in_user(self, client: Client) -> None:
        response = client.get("/account/api-keys")
        assert response.status_code == 302
        assert "/login/" in response["Location"]

    def test_it_creates_a_named_key_and_shows_it_exactly_once(
        self, client_in: Client, user: User
    ) -> None:
        response = client_in.post("/account/api-keys", {"name": "render box"})
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        html = response.content.decode()
        raw = re.search(r"sk-studio-[a-z0-9]{12}-[A-Za-z0-9]{40}", html)
        assert raw is not None
        key = ApiKey.objects.get()
        assert (key.user, key.name) == (user, "render box")
        # The key works, and the page never shows it again.
        api = Client(HTTP_AUTHORIZATION=f"Bearer {raw.group(0)}")
        assert api.get("/v1/videos").status_code == 200
        html = client_in.get("/account/api-keys").content.decode()
        assert raw.group(0) not in html
        assert f"sk-studio-{key.prefix}-…" in html
        assert "render box" in html

    def test_it_needs_a_name(self, client_in: Client) -> None:
        response = client_in.post("/account/api-keys", {"name": "  "})
        assert response.status_code == 400
        assert not ApiKey.objects.exists()

    def test_it_lists_only_the_users_own_keys(self, client_in: Client, user: User) -> None:
        make_key(user, "mine")
        make_key(make_user(), "theirs")
        html = client_in.get("/account/api-keys").content.decode()
        assert "mine" in html and "theirs" not in html

    def test_it_revokes_a_key(self, client_in: Client, user: User) -> None:
        key = make_key(user, "old")
        response = client_in.post(f"/account/api-keys/{key.row.pk}/revoke")
        assert response.status_code == 302
        assert ApiKey.objects.get().revoked_at is not None
        assert_error(Client(**key.headers).get("/v1/videos"), 401)
        assert "revoked" in client_in.get("/account/api-keys").content.decode()

    def test_it_cannot_revoke_someone_elses_key(self, client_in: Client) -> None:
        other = make_key(make_user())
        assert client_in.post(f"/account/api-keys/{other.row.pk}/revoke").status_code == 404
        assert ApiKey.objects.get().revoked_at is None

    def test_revoking_needs_a_post_with_a_csrf_token(self, user: User) -> None:
        key = make_key(user)
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        assert client.get(f"/account/api-keys/{key.row.pk}/revoke").status_code == 405
        assert client.post(f"/account/api-keys/{key.row.pk}/revoke").status_code == 403
        assert ApiKey.objects.get().revoked_at is None


class TestAdmin:
    def model_admin(self) -> ApiKeyAdmin:
        return ApiKeyAdmin(ApiKey, admin.site)

    def test_it_never_shows_or_edits_the_secret_hash(self, user: User) -> None:
        model_admin = self.model_admin()
        request = RequestFactory().get("/")
        request.user = make_user(is_staff=True, is_superuser=True)
        key = make_key(user)
        fields = model_admin.get_fields(request, key.row)
        assert "secret_hash" not in fields
        assert "secret_hash" not in model_admin.list_display
        form = model_admin.get_form(request, key.row)
        assert "secret_hash" not in form.base_fields
        assert not model_admin.has_add_permission(request)

    def test_its_revoke_action_revokes_the_selected_keys(self, user: User) -> None:
        first, second = make_key(user), make_key(user)
        request = RequestFactory().post("/")
        request.user = make_user(is_staff=True, is_superuser=True)
        request.session = {}  # type: ignore[assignment]
        request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
        self.model_admin().revoke(request, ApiKey.objects.filter(pk=first.row.pk))
        first.row.refresh_from_db()
        second.row.refresh_from_db()
        assert first.row.revoked_at is not None
        assert second.row.revoked_at is None


class TestCreateApiKeyCommand:
    def test_it_prints_a_working_key(self, user: User) -> None:
        out = io.StringIO()
        call_command("createapikey", "maya", "--name", "ci", stdout=out)
        raw = out.getvalue().strip()
        assert KEY_RE.match(raw)
        assert ApiKey.objects.get().name == "ci"
        assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/v1/videos").status_code == 200

    def test_it_refuses_an_unknown_user(self, db: None) -> None:
        with pytest.raises(CommandError):
            call_command("createapikey", "nobody", stdout=io.StringIO())
