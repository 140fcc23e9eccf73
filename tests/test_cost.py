"""Cost: every video records its estimate from the routing table; pages and admin total it."""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from tests.api_helpers import (  # noqa: F401  (fixtures)
    api_fixture,
    api_key_fixture,
    completed_video,
)
from tests.factories import make_team, make_user, make_video, mp4_bytes
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog
from videos_app.usage import selectors as usage

pytestmark = pytest.mark.django_db

SECRET = "sk-live-THIS-MUST-NEVER-SHOW-3f9a1c"


@pytest.fixture
def priced() -> ModelRoute:
    """A model at $0.05 a second on an upstream gateway."""
    provider = Provider.objects.create(
        name="gateway", kind="openai_compatible", label="Acme gateway", api_key_env="ACME_KEY"
    )
    return ModelRoute.objects.create(
        name="priced", provider=provider, price_per_second=Decimal("0.05"), position=2
    )


def newest(owner: User) -> Video:
    video = Video.objects.filter(owner=owner).order_by("-created_at", "-pk").first()
    assert video is not None
    return video


class TestRecordedCost:
    def test_a_create_costs_price_times_seconds(self, api: Client, priced: ModelRoute) -> None:
        body = api.post("/v1/videos", {"prompt": "p", "model": "priced", "seconds": "8"}).json()
        assert Video.objects.get(pk=body["id"]).cost_estimate == Decimal("0.4000")

    def test_an_unpriced_model_records_no_cost(self, api: Client) -> None:
        body = api.post("/v1/videos", {"prompt": "p", "model": "sora-2", "seconds": "8"}).json()
        assert Video.objects.get(pk=body["id"]).cost_estimate is None

    def test_a_remix_costs_the_whole_video(
        self, client_in: Client, user: User, priced: ModelRoute
    ) -> None:
        source = completed_video(user, model="priced", seconds=12, provider="gateway")
        response = client_in.post(f"/videos/{source.pk}/remix", {"remix-prompt": "at night"})
        assert response.status_code == 302
        remix = newest(user)
        assert (remix.operation, remix.cost_estimate) == ("remix", Decimal("0.6000"))

    def test_an_extension_costs_only_its_new_segment(
        self, client_in: Client, user: User, priced: ModelRoute
    ) -> None:
        source = completed_video(user, model="priced", seconds=12, provider="gateway")
        response = client_in.post(
            f"/videos/{source.pk}/extend", {"extend-prompt": "and on", "extend-seconds": "4"}
        )
        assert response.status_code == 302
        extension = newest(user)
        assert (extension.operation, extension.seconds) == ("extend", 16)
        assert extension.cost_estimate == Decimal("0.2000")

    def test_an_edit_costs_the_whole_video(
        self, client_in: Client, user: User, priced: ModelRoute
    ) -> None:
        source = completed_video(user, model="priced", seconds=8, provider="gateway")
        assert (
            client_in.post(f"/videos/{source.pk}/edit", {"edit-prompt": "b&w"}).status_code == 302
        )
        edit = newest(user)
        assert (edit.operation, edit.cost_estimate) == ("edit", Decimal("0.4000"))

    def test_an_uploaded_edit_costs_its_rounded_length(
        self, api: Client, user: User, priced: ModelRoute
    ) -> None:
        clip = SimpleUploadedFile("clip.mp4", mp4_bytes(2.0), content_type="video/mp4")
        body = api.post("/v1/videos/edits", {"prompt": "mirror", "video": clip, "model": "priced"})
        video = Video.objects.get(pk=body.json()["id"])
        assert (video.seconds, video.cost_estimate) == (2, Decimal("0.1000"))

    def test_costs_keep_four_decimal_places(self) -> None:
        assert catalog.estimate_cost(Decimal("0.0125"), 4) == Decimal("0.0500")
        assert catalog.estimate_cost(Decimal("0.0333"), 20) == Decimal("0.6660")
        assert catalog.estimate_cost(None, 20) is None

    @pytest.mark.parametrize(
        ("amount", "text"),
        [
            (Decimal("0.4"), "$0.40"),
            (Decimal("0.0125"), "$0.0125"),
            (Decimal("0.125"), "$0.125"),
            (Decimal("1234.5678"), "$1,234.57"),
            (Decimal("0"), "$0.00"),
            (None, ""),
        ],
    )
    def test_amounts_show_as_dollars(self, amount: Decimal | None, text: str) -> None:
        assert catalog.format_usd(amount) == text


class TestTheCreateForm:
    def estimate(self, html: str) -> str:
        match = re.search(r'<p class="route-info__cost" id="cost-estimate"[^>]*>([^<]*)</p>', html)
        assert match, "no estimate on the page"
        return match[1]

    def test_it_shows_the_estimate_for_the_initial_values(
        self, client_in: Client, priced: ModelRoute
    ) -> None:
        html = client_in.get("/videos/new").content.decode()
        assert self.estimate(html) == "Estimated cost: free \N{EM DASH} runs locally"
        html = client_in.get("/videos/new?model=priced&seconds=8").content.decode()
        assert self.estimate(html) == "Estimated cost: $0.40 (8 s \N{MULTIPLICATION SIGN} $0.05/s)"
        assert 'Runs on <strong id="route-provider">Acme gateway</strong>' in html

    def test_an_upstream_without_a_price_is_unknown(self, client_in: Client) -> None:
        provider = Provider.objects.create(name="other", kind="openai_compatible")
        ModelRoute.objects.create(name="mystery", provider=provider)
        html = client_in.get("/videos/new?model=mystery").content.decode()
        assert self.estimate(html) == "Estimated cost: unknown"

    def test_the_options_carry_each_models_price_without_javascript(
        self, client_in: Client, priced: ModelRoute
    ) -> None:
        html = client_in.get("/videos/new").content.decode()
        assert '<option value="priced">priced ($0.05/s)</option>' in html
        assert "sora-2 (free)</option>" in html
        assert "<summary>Models, providers and prices</summary>" in html

    def test_a_form_with_errors_keeps_the_estimate_of_what_was_posted(
        self, client_in: Client, priced: ModelRoute
    ) -> None:
        data = {"prompt": "", "model": "priced", "size": "720x1280", "seconds": "12"}
        response = client_in.post("/videos/new", data)
        assert response.status_code == 400
        assert self.estimate(response.content.decode()).startswith("Estimated cost: $0.60 (12 s")


class TestDetailAndGallery:
    def test_the_detail_page_shows_the_cost(self, client_in: Client, user: User) -> None:
        video = completed_video(user, provider="gateway", cost_estimate=Decimal("0.4"))
        assert "<dd>$0.40</dd>" in client_in.get(f"/videos/{video.pk}").content.decode()
        free = completed_video(user, provider="local")
        html = client_in.get(f"/videos/{free.pk}").content.decode()
        assert "<dd>free \N{EM DASH} ran locally</dd>" in html

    def test_the_gallery_sums_visible_videos_and_the_viewers_own(
        self, client_in: Client, user: User
    ) -> None:
        teammate, stranger = make_user(), make_user()
        team = make_team(members={user: "editor", teammate: "editor"})
        make_video(user, cost_estimate=Decimal("0.40"))
        make_video(teammate, team=team, cost_estimate=Decimal("1.25"))
        make_video(teammate, team=team, visibility="private", cost_estimate=Decimal("50"))
        make_video(stranger, cost_estimate=Decimal("99"))
        html = client_in.get("/").content.decode()
        assert "Estimated cost of visible videos: <strong>$1.65</strong>" in html
        assert "yours: <strong>$0.40</strong>" in html

    def test_the_gallery_says_nothing_of_cost_while_nothing_visible_is_priced(
        self, client_in: Client, user: User
    ) -> None:
        make_video(user, provider="local")
        make_video(user, provider="gateway", cost_estimate=Decimal("0"))
        assert "Estimated cost of visible videos" not in client_in.get("/").content.decode()
        make_video(user, provider="gateway", cost_estimate=None)  # a price nobody knows
        html = client_in.get("/").content.decode()
        assert "Estimated cost of visible videos: <strong>$0.00</strong>" in html
        assert "1 unpriced" in html

    def test_the_summary_is_one_query(self, user: User) -> None:
        make_video(user, cost_estimate=Decimal("0.40"))
        user = User.objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as queries:
            usage.usage_summary(user=user)
        video_queries = [q for q in queries if "videos_app_video" in q["sql"]]
        assert len(video_queries) == 1


class TestUsagePage:
    @pytest.fixture
    def world(self, user: User) -> dict[str, Any]:
        teammate, stranger = make_user("tess"), make_user("stan")
        team = make_team(members={user: "viewer", teammate: "editor"})
        videos = {
            "mine": make_video(user, cost_estimate=Decimal("0.40"), seconds=8),
            "team": make_video(teammate, team=team, cost_estimate=Decimal("1.00"), seconds=20),
            "extension": make_video(
                teammate,
                team=team,
                operation="extend",
                seconds=24,
                segment_seconds=4,
                cost_estimate=Decimal("0.20"),
            ),
            "local": make_video(teammate, team=team, seconds=12),  # free, not unpriced
            "unpriced": make_video(teammate, team=team, provider="gateway", seconds=4),
            "private": make_video(
                teammate, team=team, visibility="private", cost_estimate=Decimal("50")
            ),
            "stranger": make_video(stranger, cost_estimate=Decimal("99")),
        }
        return {"teammate": teammate, "stranger": stranger, "videos": videos}

    def rows(self, html: str) -> dict[str, list[str]]:
        body = html.split("<tbody>")[1].split("</tbody>")[0]
        rows = {}
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
            cells = [
                " ".join(re.sub(r"<[^>]+>", " ", c).split())
                for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            ]
            rows[cells[0].split(" ")[0]] = cells[1:]
        return rows

    def test_it_totals_per_person_over_visible_videos_only(
        self, client_in: Client, world: dict[str, Any]
    ) -> None:
        response = client_in.get("/usage/")
        assert response.status_code == 200
        rows = self.rows(response.content.decode())
        assert rows == {
            # tess: 20 + 4 (the extension's new segment) + 12 + 4 s; her private video not
            "tess": ["4", "40 s", "$1.20 + 1 unpriced"],
            "maya": ["1", "8 s", "$0.40"],
        }
        assert "stan" not in response.content.decode()

    def test_a_job_no_provider_took_on_counts_no_seconds(
        self, client_in: Client, world: dict[str, Any]
    ) -> None:
        teammate = world["teammate"]
        common = {"team": world["videos"]["local"].team, "provider": "gateway", "seconds": 8}
        make_video(teammate, status="failed", error_code="upstream_unavailable",
                   cost_estimate=Decimal("0"), **common)  # fmt: skip
        # An upstream that took the job and failed it, and a create whose answer was lost,
        # may still be billed: their seconds count.
        make_video(teammate, status="failed", provider_job_id="video_up_1",
                   cost_estimate=Decimal("0.40"), **common)  # fmt: skip
        make_video(teammate, status="failed", error_code="upstream_outcome_unknown",
                   cost_estimate=Decimal("0.40"), **common)  # fmt: skip
        rows = self.rows(client_in.get("/usage/").content.decode())
        assert rows["tess"] == ["7", "56 s", "$2.00 + 1 unpriced"]

    def test_staff_see_everyone(self, world: dict[str, Any]) -> None:
        client = Client()
        client.force_login(make_user("boss", is_staff=True))  # type: ignore[arg-type]
        rows = self.rows(client.get("/usage/").content.decode())
        assert rows["stan"] == ["1", "4 s", "$99.00"]
        assert rows["tess"][2].startswith("$51.20")

    def test_it_filters_by_month(self, client_in: Client, world: dict[str, Any]) -> None:
        Video.objects.filter(pk=world["videos"]["team"].pk).update(
            created_at=datetime(2026, 3, 14, 12, 0, tzinfo=datetime.now().astimezone().tzinfo)
        )
        march = self.rows(client_in.get("/usage/?month=2026-03").content.decode())
        assert march == {"tess": ["1", "20 s", "$1.00"]}
        html = client_in.get("/usage/?month=2025-01").content.decode()
        assert "No videos in January 2025" in html

    @pytest.mark.parametrize("bad", ["2026-13", "March", "2026-3-1", "0000-01"])
    def test_a_bad_month_is_a_clear_400(self, client_in: Client, bad: str) -> None:
        response = client_in.get("/usage/", {"month": bad})
        assert response.status_code == 400
        assert "is not a month; use the form YYYY-MM" in response.content.decode()

    def test_it_needs_a_sign_in(self, client: Client) -> None:
        response = client.get("/usage/")
        assert response.status_code == 302 and "/login/" in response["Location"]

    def test_the_table_is_one_aggregate_query(self, user: User, world: dict[str, Any]) -> None:
        user = User.objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as queries:
            usage.usage_by_user(user=user)
        assert len([q for q in queries if "videos_app_video" in q["sql"]]) == 1


class TestAdmin:
    @pytest.fixture
    def staff(self, monkeypatch: pytest.MonkeyPatch, priced: ModelRoute) -> Client:
        monkeypatch.setenv("ACME_KEY", SECRET)
        root = make_user("root", is_staff=True, is_superuser=True)
        make_video(root, provider="gateway", cost_estimate=Decimal("0.40"), seconds=8)
        client = Client()
        client.force_login(root)  # type: ignore[arg-type]
        return client

    def admin_pages(self) -> list[str]:
        """Every registered model's changelist, add page and first object's change page."""
        urls = [reverse("admin:index")]
        for model in admin.site._registry:
            opts = model._meta
            for name in ("changelist", "add"):
                with contextlib.suppress(NoReverseMatch):
                    urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}"))
            first = model._default_manager.first()
            if first is not None:
                urls.append(
                    reverse(
                        f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(first.pk)]
                    )
                )
        return urls

    def test_no_admin_page_shows_a_providers_key(self, staff: Client) -> None:
        pages = self.admin_pages()
        assert "/admin/videos_app/provider/" in pages
        checked = 0
        for url in pages:
            response = staff.get(url)
            if response.status_code != 200:
                continue
            assert SECRET not in response.content.decode(), url
            checked += 1
        assert checked >= 8
        html = staff.get("/admin/videos_app/provider/").content.decode()
        assert "$ACME_KEY" in html and ">set<" in html

    def test_a_missing_key_says_missing(
        self, staff: Client, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("ACME_KEY")
        html = staff.get("/admin/videos_app/provider/").content.decode()
        assert ">missing<" in html

    def test_a_key_file_is_read_for_its_status_only(self, staff: Client, tmp_path: Any) -> None:
        key_file = tmp_path / "key"
        key_file.write_text(SECRET + "\n")
        Provider.objects.filter(name="gateway").update(api_key_env="", api_key_file=str(key_file))
        gateway = Provider.objects.get(name="gateway")
        html = staff.get(f"/admin/videos_app/provider/{gateway.pk}/change/").content.decode()
        assert str(key_file) in html and SECRET not in html
        assert '<div class="readonly">set</div>' in html

    def test_the_user_list_shows_usage_in_one_query_at_any_size(self, staff: Client) -> None:
        staff.get("/admin/auth/user/")  # warm: the session's user
        with CaptureQueriesContext(connection) as small:
            html = staff.get("/admin/auth/user/").content.decode()
        assert '<td class="field-video_cost">$0.40</td>' in html
        assert '<td class="field-video_seconds">8</td>' in html
        for _ in range(5):
            make_video(make_user(), cost_estimate=Decimal("1"))
        with CaptureQueriesContext(connection) as large:
            staff.get("/admin/auth/user/")
        assert len(large) == len(small)

    def test_a_videos_admin_page_shows_its_provider_model_and_cost(self, staff: Client) -> None:
        video = Video.objects.get(provider="gateway")
        Video.objects.filter(pk=video.pk).update(provider_model="acme-v1")
        response = staff.get(reverse("admin:videos_app_video_change", args=[quote(video.pk)]))
        assert response.status_code == 200
        html = response.content.decode()
        assert '<div class="readonly">acme-v1</div>' in html
        assert '<div class="readonly">0.4000</div>' in html
