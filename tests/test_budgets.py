"""Monthly spend caps (usage/budgets.py): a create, remix, extension or edit that would pass
its team's or its creator's cap is refused before anything is stored or sent; the team
page sets the caps and the usage page shows spend against them."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.api_helpers import assert_error, completed_video, make_key
from tests.conftest import stored_files
from tests.factories import image_bytes, make_team, make_user
from tests.fake_upstream import sample_assets
from videos_app import services
from videos_app.jobs import remote
from videos_app.models import Membership, ModelRoute, Provider, Team, Video
from videos_app.providers.base import ProviderError, RemoteRequest, RemoteStatus
from videos_app.tasks import render_video
from videos_app.usage import budgets

pytestmark = pytest.mark.django_db

TOY = {"toy": ("Toy engine", "tests.test_budgets.MeteredEngine")}
PRICE = Decimal("0.10")  # a second: an 8 s video is $0.80


class MeteredEngine:
    """A throwaway remote engine that counts what reaches it; ``refuse`` fails its check,
    so a job fails before anything is sent."""

    calls: ClassVar[Counter[str]] = Counter()
    refuse: ClassVar[bool] = False

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def from_row(cls, row: Provider) -> MeteredEngine:
        return cls(row.name)

    def check(self, request: RemoteRequest) -> None:
        self.calls["check"] += 1
        if self.refuse:
            raise ProviderError("moderation_blocked", "The vendor refused the prompt.")

    def submit(self, request: RemoteRequest) -> str:
        self.calls["submit"] += 1
        return f"metered-{self.calls['submit']}"

    def status(self, job_id: str) -> RemoteStatus:
        self.calls["status"] += 1
        return RemoteStatus(id=job_id, status="completed", progress=100, poll_after=0.01)

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        return []

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        return dest.write_bytes(sample_assets()[variant])

    def delete(self, job_id: str) -> bool:
        return True

    def close(self) -> None:
        pass


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path) -> ModelRoute:
    """The model ``metered-1`` at $0.10 a second on a remote engine that counts its calls."""
    settings.STUDIO_ENGINES = TOY
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.01)
    MeteredEngine.calls.clear()
    MeteredEngine.refuse = False
    provider = Provider.objects.create(name="vendor", kind="toy")
    return ModelRoute.objects.create(
        name="metered-1", provider=provider, upstream_model="m1", price_per_second=PRICE
    )


@pytest.fixture
def local_paid() -> ModelRoute:
    """The local renderer priced, so a remix, extension or edit has a cost to check."""
    return ModelRoute.objects.create(
        name="local-paid", provider=Provider.objects.get(name="local"), price_per_second=PRICE
    )


@pytest.fixture
def maya(db: None) -> User:
    return make_user("maya")  # type: ignore[return-value]


def crew(*members: tuple[User, str], cap: str | None = "1.00") -> Team:
    return make_team(
        "Crew",
        members=dict(members),
        slug="crew",
        monthly_cap=None if cap is None else Decimal(cap),
    )


def spend(owner: User, team: Team, amount: str, **kwargs: Any) -> Video:
    """A finished video that cost ``amount`` this month."""
    return completed_video(
        owner, team=team, provider="vendor", model="metered-1", seconds=8,
        cost_estimate=Decimal(amount), **kwargs,
    )  # fmt: skip


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def render_everything() -> None:
    """Run the render task of every video there is, as the queue would."""
    for pk in Video.objects.values_list("pk", flat=True):
        render_video(pk)


def v1_create(owner: User) -> Any:
    """A /v1 create with an uploaded first frame (a file that would be stored)."""
    upload = SimpleUploadedFile(
        "upload", image_bytes(720, 1280), content_type="application/octet-stream"
    )
    body = {"prompt": "a kite", "model": "metered-1", "seconds": "8", "team": "crew"}
    return Client(**make_key(owner).headers).post("/v1/videos", {**body, "input_reference": upload})


def create(owner: User, team: Team | None, seconds: int = 8) -> Video:
    return services.video_create(
        owner=owner, prompt="a kite", model="metered-1", size="720x1280", seconds=seconds,
        team=team,
    )  # fmt: skip


class TestRefusedBeforeAnythingIsSent:
    def test_a_create_page_over_the_team_cap_shows_why_and_stores_and_sends_nothing(
        self, vendor: ModelRoute, maya: User, media_root: Path
    ) -> None:
        team = crew((maya, "editor"))
        spend(maya, team, "0.50")
        data = {
            "prompt": "a kite over the dunes",
            "model": "metered-1",
            "size": "720x1280",
            "seconds": "8",
            "team": str(team.pk),
            "reference_image": SimpleUploadedFile(
                "first.png", image_bytes(720, 1280), content_type="image/png"
            ),
        }
        before = stored_files(media_root)
        response = logged_in(maya).post(reverse("videos:new"), data)
        assert response.status_code == 400
        html = response.content.decode()
        assert '<div class="form-error" role="alert">This would pass Crew' in html
        assert "$0.50 of $1.00 is spent and this video&#x27;s estimate is $0.80" in html
        assert Video.objects.count() == 1
        # The refused form keeps its upload for the next try (images.py), nothing else.
        kept = [name for name in stored_files(media_root) if name not in before]
        assert all(name.startswith("kept_uploads/") for name in kept)
        render_everything()
        assert MeteredEngine.calls["submit"] == MeteredEngine.calls["check"] == 0

    def test_a_v1_create_over_the_cap_stores_and_sends_nothing(
        self, vendor: ModelRoute, maya: User, media_root: Path
    ) -> None:
        team = crew((maya, "editor"))
        spend(maya, team, "0.50")
        before = stored_files(media_root)
        response = v1_create(maya)
        assert response.status_code in (400, 429)  # which of the two: the next test
        assert "This would pass Crew's monthly spend cap" in response.json()["error"]["message"]
        assert Video.objects.count() == 1
        assert stored_files(media_root) == before
        render_everything()
        assert MeteredEngine.calls["submit"] == MeteredEngine.calls["check"] == 0

    def test_a_v1_create_over_the_cap_answers_429_insufficient_quota(
        self, vendor: ModelRoute, maya: User
    ) -> None:
        spend(maya, crew((maya, "editor")), "0.50")
        error = assert_error(v1_create(maya), 429, code="insufficient_quota")
        assert error["type"] == "insufficient_quota" and error["param"] is None

    def test_a_v1_remix_over_the_cap_answers_429_insufficient_quota(
        self, local_paid: ModelRoute, maya: User, media_root: Path
    ) -> None:
        team = crew((maya, "editor"), cap="0.50")
        source = completed_video(
            maya, team=team, model="local-paid", seconds=4, cost_estimate=Decimal("0.40")
        )
        response = Client(**make_key(maya).headers).post(
            f"/v1/videos/{source.pk}/remix", {"prompt": "at night"}
        )
        error = assert_error(response, 429, code="insufficient_quota")
        assert error["type"] == "insufficient_quota"
        assert "$0.40 of $0.50 is spent and this video's estimate is $0.40" in error["message"]
        assert Video.objects.count() == 1

    def test_a_create_that_fits_exactly_passes_and_the_next_one_does_not(
        self, vendor: ModelRoute, maya: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: None)
        team = crew((maya, "editor"), cap="1.60")
        create(maya, team)
        create(maya, team)  # $1.60 of $1.60
        with pytest.raises(budgets.OverBudget):
            create(maya, team, seconds=4)
        assert budgets.spent(team_id=team.pk) == Decimal("1.60")

    def test_a_video_of_no_team_is_never_held_back(
        self, vendor: ModelRoute, maya: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: None)
        team = crew((maya, "editor"), cap="0")
        with pytest.raises(budgets.OverBudget):
            create(maya, team)
        assert create(maya, None).cost_estimate == Decimal("0.80")


class TestWhatCounts:
    def test_a_member_cap_below_the_team_cap_refuses_that_member_only(
        self, vendor: ModelRoute, maya: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: None)
        ravi = make_user("ravi")
        team = crew((maya, "editor"), (ravi, "editor"), cap="10.00")
        Membership.objects.filter(user=maya).update(monthly_cap=Decimal("1.00"))
        spend(maya, team, "0.50")
        with pytest.raises(budgets.OverBudget) as refused:
            create(maya, team)
        assert "your monthly spend cap in Crew: $0.50 of $1.00" in refused.value.messages[0]
        assert create(ravi, team).cost_estimate == Decimal("0.80")  # the team has room
        assert Video.objects.filter(owner=maya).count() == 1

    def test_a_job_that_failed_before_it_was_sent_counts_nothing(
        self, vendor: ModelRoute, maya: User, django_capture_on_commit_callbacks: Any
    ) -> None:
        team = crew((maya, "editor"), cap="1.00")
        MeteredEngine.refuse = True
        with django_capture_on_commit_callbacks(execute=False):
            first = create(maya, team)  # $0.80 of $1.00
        render_video(first.pk)
        first.refresh_from_db()
        assert (first.status, first.error_code) == (Video.Status.FAILED, "moderation_blocked")
        assert first.cost_estimate == 0 and MeteredEngine.calls["submit"] == 0
        assert budgets.spent(team_id=team.pk) == 0
        with django_capture_on_commit_callbacks(execute=False):
            create(maya, team)  # fits: the failed job was never billed

    def test_last_months_spend_does_not_count_this_month(
        self, vendor: ModelRoute, maya: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: None)
        team = crew((maya, "editor"), cap="1.00")
        old = spend(maya, team, "0.90")
        with pytest.raises(budgets.OverBudget):
            create(maya, team)
        last_month = budgets.month_start() - timedelta(seconds=1)
        Video.objects.filter(pk=old.pk).update(created_at=last_month)
        assert budgets.spent(team_id=team.pk) == 0
        assert create(maya, team).cost_estimate == Decimal("0.80")

    @pytest.mark.parametrize("operation", ["remix", "extend", "edit"])
    def test_a_remix_extension_or_edit_is_held_to_the_cap_too(
        self,
        local_paid: ModelRoute,
        maya: User,
        operation: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: None)
        team = crew((maya, "editor"), cap="1.00")
        source = completed_video(
            maya, team=team, model="local-paid", seconds=4, cost_estimate=Decimal("0.40")
        )

        def derive() -> Video:
            if operation == "remix":
                return services.video_remix(owner=maya, source=source, prompt="at night")
            if operation == "extend":
                return services.video_extend(
                    owner=maya, source=source, prompt="and on", segment_seconds=4
                )
            return services.video_edit(owner=maya, source=source, prompt="black and white")

        made = derive()  # $0.40 + $0.40 of $1.00
        assert made.cost_estimate == Decimal("0.40") and made.team_id == team.pk
        with pytest.raises(budgets.OverBudget):
            derive()  # $0.80 + $0.40
        assert Video.objects.count() == 2

    def test_a_remix_over_the_cap_on_the_video_page_is_a_form_error(
        self, local_paid: ModelRoute, maya: User
    ) -> None:
        team = crew((maya, "editor"), cap="0.50")
        source = completed_video(
            maya, team=team, model="local-paid", seconds=4, cost_estimate=Decimal("0.40")
        )
        response = logged_in(maya).post(
            reverse("videos:remix", args=[source.pk]), {"remix-prompt": "at night"}
        )
        assert response.status_code == 400
        assert "This would pass Crew&#x27;s monthly spend cap" in response.content.decode()
        assert Video.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_creates_at_once_cannot_both_pass_a_cap_that_fits_one(
    vendor: ModelRoute, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads with their own connections: the team's row lock makes the second wait
    for the first to commit, then count its video."""
    if connection.vendor == "sqlite":
        # As in test_webhooks: the in-memory test database's shared cache answers "table
        # is locked" to a second writer instead of waiting; the PostgreSQL pass runs this.
        pytest.skip("needs a database that lets two connections wait on each other")
    monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: None)
    maya, ravi = make_user("maya"), make_user("ravi")
    team = crew((maya, "editor"), (ravi, "editor"), cap="1.00")  # one $0.80 video fits
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(owner: User) -> None:
        try:
            barrier.wait()
            create(owner, team)
            outcomes.append("made")
        except budgets.OverBudget:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(u,)) for u in (maya, ravi)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["made", "refused"]
    assert Video.objects.filter(team=team).count() == 1
    assert budgets.spent(team_id=team.pk) == Decimal("0.80")


# The team page: admins and staff set the caps, members see them.

ROLES = ["staff", "admin", "editor", "viewer", "outsider"]


@pytest.fixture
def people(db: None) -> dict[str, User]:
    users: dict[str, User] = {
        role: make_user(role, is_staff=role == "staff")  # type: ignore[misc]
        for role in ROLES
    }
    make_team("Elsewhere", members={users["outsider"]: "admin"})
    crew(
        (users["admin"], "admin"), (users["editor"], "editor"), (users["viewer"], "viewer"),
        cap=None,
    )  # fmt: skip
    return users


def team_cap_url() -> str:
    return reverse("videos:team_cap", args=["crew"])


def member_cap_url(username: str) -> str:
    membership = Membership.objects.get(team__slug="crew", user__username=username)
    return reverse("videos:team_member_cap", args=["crew", membership.pk])


def team_cap() -> Decimal | None:
    return Team.objects.get(slug="crew").monthly_cap


def member_cap(username: str) -> Decimal | None:
    return Membership.objects.get(team__slug="crew", user__username=username).monthly_cap


class TestTeamPage:
    @pytest.mark.parametrize("role", ["staff", "admin"])
    def test_a_manager_sets_and_clears_the_team_cap(
        self, people: dict[str, User], role: str
    ) -> None:
        client = logged_in(people[role])
        response = client.post(team_cap_url(), {"monthly_cap": "$50"}, follow=True)
        assert team_cap() == Decimal("50.00")
        html = response.content.decode()
        assert "Crew has a monthly spend cap of $50.00 now." in html
        assert "<strong>$0.00</strong> of $50.00" in html
        assert 'name="monthly_cap" value="50.00"' in html
        client.post(team_cap_url(), {"monthly_cap": "  "})
        assert team_cap() is None
        assert "· no cap" in client.get(reverse("videos:team", args=["crew"])).content.decode()

    def test_a_manager_sets_and_clears_a_members_cap(self, people: dict[str, User]) -> None:
        client = logged_in(people["admin"])
        response = client.post(member_cap_url("editor"), {"monthly_cap": "12.5"})
        assert response.status_code == 302 and response["Location"].endswith(
            f"#member-{Membership.objects.get(user=people['editor']).pk}"
        )
        assert member_cap("editor") == Decimal("12.50")
        assert member_cap("viewer") is None and team_cap() is None
        client.post(member_cap_url("editor"), {"monthly_cap": ""})
        assert member_cap("editor") is None

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("-1", "A cap cannot be negative"),
            ("ten", "Give the cap in US dollars, such as 50 or 12.50"),
            ("NaN", "Give the cap in US dollars"),
            ("1e999999", "A cap can be at most $99,999,999.99"),
            ("12.345", "at most 2 decimal places"),
            ("100000000", "A cap can be at most $99,999,999.99"),
            ("12,50", "Give the cap in US dollars"),
        ],
    )
    def test_a_bad_cap_is_a_form_error_and_changes_nothing(
        self, people: dict[str, User], value: str, message: str
    ) -> None:
        Team.objects.filter(slug="crew").update(monthly_cap=Decimal("5.00"))
        client = logged_in(people["admin"])
        response = client.post(team_cap_url(), {"monthly_cap": value})
        assert response.status_code == 400
        html = response.content.decode()
        assert message in html and 'role="alert"' in html
        assert team_cap() == Decimal("5.00")
        response = client.post(member_cap_url("editor"), {"monthly_cap": value})
        assert response.status_code == 400 and message in response.content.decode()
        assert member_cap("editor") is None

    @pytest.mark.parametrize("value", ["0", "99999999.99", "12.500", "$ 7"])
    def test_the_edges_of_a_good_cap_are_taken(self, people: dict[str, User], value: str) -> None:
        logged_in(people["admin"]).post(team_cap_url(), {"monthly_cap": value})
        assert team_cap() == Decimal(value.removeprefix("$ "))

    @pytest.mark.parametrize(
        ("role", "status"), [("editor", 403), ("viewer", 403), ("outsider", 404)]
    )
    def test_others_cannot_set_a_cap(self, people: dict[str, User], role: str, status: int) -> None:
        client = logged_in(people[role])
        assert client.post(team_cap_url(), {"monthly_cap": "1"}).status_code == status
        assert client.post(member_cap_url(role if role != "outsider" else "editor"),
                           {"monthly_cap": "1"}).status_code == status  # fmt: skip
        assert team_cap() is None
        assert not Membership.objects.filter(monthly_cap__isnull=False).exists()

    def test_caps_need_a_post_and_a_csrf_token(self, people: dict[str, User]) -> None:
        assert logged_in(people["admin"]).get(team_cap_url()).status_code == 405
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(people["admin"])
        assert strict.post(team_cap_url(), {"monthly_cap": "1"}).status_code == 403
        assert team_cap() is None

    @pytest.mark.parametrize("role", ["editor", "viewer"])
    def test_members_see_the_caps_and_this_months_spend_read_only(
        self, people: dict[str, User], role: str
    ) -> None:
        team = Team.objects.get(slug="crew")
        Team.objects.filter(pk=team.pk).update(monthly_cap=Decimal("50.00"))
        Membership.objects.filter(user=people["editor"]).update(monthly_cap=Decimal("5.00"))
        spend(people["editor"], team, "12.40")
        html = logged_in(people[role]).get(reverse("videos:team", args=["crew"])).content.decode()
        assert "<strong>$12.40</strong> of $50.00" in html
        assert "<strong>$12.40</strong> of $5.00" in html  # the editor's own, and reached
        assert "cap reached" in html
        assert '<strong>$0.00</strong> <span class="muted">· team\'s cap only' in html
        assert 'name="monthly_cap"' not in html and team_cap_url() not in html

    def test_the_page_reads_the_spend_in_one_query_however_many_members(
        self, people: dict[str, User]
    ) -> None:
        client = logged_in(people["admin"])
        url = reverse("videos:team", args=["crew"])
        client.get(url)
        with CaptureQueriesContext(connection) as before:
            client.get(url)
        team = Team.objects.get(slug="crew")
        for n in range(4):
            member = make_user(f"extra{n}")
            Membership.objects.create(team=team, user=member, role="editor")
            spend(member, team, "1.00")
        with CaptureQueriesContext(connection) as after:
            assert client.get(url).status_code == 200
        assert len(after) == len(before)


class TestUsagePage:
    def test_it_shows_each_teams_spend_against_its_cap_and_mine_against_my_cap(
        self, maya: User
    ) -> None:
        team = crew((maya, "editor"), cap="50.00")
        make_team("Solo", members={maya: "admin"}, slug="solo")
        Membership.objects.filter(team=team, user=maya).update(monthly_cap=Decimal("20.00"))
        spend(maya, team, "12.40")
        spend(make_user(), team, "1.00")
        old = spend(maya, team, "5.00")
        Video.objects.filter(pk=old.pk).update(created_at=budgets.month_start() - timedelta(days=2))
        html = logged_in(maya).get(reverse("videos:usage")).content.decode()
        section = html[html.index('id="budgets"') : html.index("</section>")]
        assert "<strong>$13.40</strong> of $50.00" in section  # the team's, this month
        assert "You: " in section and "<strong>$12.40</strong> of $20.00" in section
        assert (
            "Solo</a>" in section
            and '<strong>$0.00</strong> <span class="muted">· no cap' in section
        )

    def test_the_budgets_cost_two_queries_however_many_teams(self, maya: User) -> None:
        client = logged_in(maya)
        crew((maya, "editor"))
        client.get(reverse("videos:usage"))
        with CaptureQueriesContext(connection) as before:
            client.get(reverse("videos:usage"))
        for n in range(3):
            team = make_team(f"More {n}", members={maya: "editor"}, monthly_cap=Decimal(9))
            spend(maya, team, "1.00")
        with CaptureQueriesContext(connection) as after:
            client.get(reverse("videos:usage"))
        assert len(after) == len(before)

    def test_someone_in_no_team_sees_no_budgets(self, maya: User) -> None:
        html = logged_in(maya).get(reverse("videos:usage")).content.decode()
        assert 'id="budgets"' not in html


def test_a_cap_service_refuses_what_the_form_would_not_send(maya: User) -> None:
    """The services keep the rules whoever calls them (a script, the admin)."""
    from videos_app.teams import services as team_services

    team = crew((maya, "admin"), cap="3.00")
    for bad in (Decimal("-0.01"), Decimal("0.001"), Decimal("1E+8"), Decimal("NaN")):
        with pytest.raises(ValidationError) as refused:
            team_services.team_cap_set(team=team, cap=bad)
        assert list(refused.value.error_dict) == ["monthly_cap"]
    team.refresh_from_db()
    assert team.monthly_cap == Decimal("3.00")
    assert team_services.team_cap_set(team=team, cap=Decimal("-0")).monthly_cap == Decimal("0.00")


def test_a_cap_reached_on_the_page_highlights_no_field() -> None:
    """The refusal is the whole form's: no "Please fix the highlighted field" banner."""
    from videos_app.forms import VideoCreateForm

    form = VideoCreateForm({})
    form.is_valid()
    assert form.fields_with_errors >= 1
    form = VideoCreateForm({"prompt": "p", "model": "sora-2", "size": "720x1280", "seconds": "4"})
    assert form.is_valid(), form.errors
    form.add_error(None, "This would pass Studio's monthly spend cap.")
    assert form.fields_with_errors == 0
