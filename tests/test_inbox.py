"""The inbox: what notifies whom, choices, the unread count, permissions, batched emails."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_user, make_video
from videos_app import permissions
from videos_app.inbox import selectors, services
from videos_app.inbox.models import Kind, Notification
from videos_app.jobs import attempt
from videos_app.jobs.signals import video_finished
from videos_app.models import CANCELLED, Membership, Team, Video
from videos_app.review import services as review

pytestmark = pytest.mark.django_db

_n = itertools.count(1)


@pytest.fixture(autouse=True)
def locmem_mail(settings: Any) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def crew() -> dict[str, Any]:
    """maya (editor) owns the video; ivan (viewer) and ada (admin) are teammates; olga is not."""
    maya, ivan, ada, olga = (
        make_user(n, email=f"{n}@example.test") for n in ("maya", "ivan", "ada", "olga")
    )
    n = next(_n)
    team = Team.objects.create(name=f"Team {n}", slug=f"team-{n}")
    for user, role in ((maya, "editor"), (ivan, "viewer"), (ada, "admin")):
        Membership.objects.create(team=team, user=user, role=role)
        permissions.forget_roles(user)
    video = make_video(maya, team=team, status=Video.Status.COMPLETED, seconds=8)
    return {"maya": maya, "ivan": ivan, "ada": ada, "olga": olga, "video": video}


def kinds_of(user: AbstractUser) -> list[str]:
    return list(
        Notification.objects.filter(user=user).order_by("id").values_list("kind", flat=True)
    )


def signed_in(user: AbstractUser) -> Client:
    client = Client()
    client.force_login(user)
    return client


class TestTriggers:
    def test_a_comment_on_my_video_notifies_me_not_the_author(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="Nice light")
        assert kinds_of(crew["maya"]) == [Kind.COMMENT]
        assert kinds_of(crew["ivan"]) == []
        assert kinds_of(crew["ada"]) == []

    def test_my_own_comment_on_my_video_notifies_nobody(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["maya"], video=crew["video"], body="Note to self")
        assert Notification.objects.count() == 0

    def test_a_mention_notifies_the_named_teammate_once(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada and @maya look")
        assert kinds_of(crew["ada"]) == [Kind.MENTION]
        # The owner is mentioned too: one line, the mention, not a comment and a mention.
        assert kinds_of(crew["maya"]) == [Kind.MENTION]
        n = Notification.objects.get(user=crew["ada"])
        assert (n.actor, n.video_id, n.comment.body) == (
            crew["ivan"],
            crew["video"].pk,
            "@ada and @maya look",
        )

    def test_mentioning_myself_or_an_outsider_notifies_nobody_else(
        self, crew: dict[str, Any]
    ) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ivan @olga hm")
        assert kinds_of(crew["ivan"]) == []
        assert kinds_of(crew["olga"]) == []

    def test_a_reply_notifies_the_thread_author_and_the_owner(self, crew: dict[str, Any]) -> None:
        root = review.comment_create(author=crew["ada"], video=crew["video"], body="The sky?")
        review.comment_create(author=crew["ivan"], video=crew["video"], body="Agreed", parent=root)
        assert kinds_of(crew["ada"]) == [Kind.REPLY]
        assert kinds_of(crew["maya"]) == [Kind.COMMENT, Kind.COMMENT]

    def test_a_reply_by_the_thread_author_does_not_notify_them(self, crew: dict[str, Any]) -> None:
        root = review.comment_create(author=crew["ada"], video=crew["video"], body="First")
        review.comment_create(author=crew["ada"], video=crew["video"], body="Also", parent=root)
        assert kinds_of(crew["ada"]) == []

    def test_a_review_change_notifies_the_owner(self, crew: dict[str, Any]) -> None:
        review.review_state_change(actor=crew["ada"], video=crew["video"], to_state="in_review")
        n = Notification.objects.get(user=crew["maya"])
        assert (n.kind, n.detail, n.actor) == (Kind.REVIEW, "in_review", crew["ada"])
        assert "moved your video" in selectors.line_text(n)

    def test_my_own_review_change_notifies_nobody(self, crew: dict[str, Any]) -> None:
        review.review_state_change(actor=crew["maya"], video=crew["video"], to_state="in_review")
        assert Notification.objects.count() == 0

    def test_a_finished_or_failed_job_notifies_its_owner(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        video_finished.send(sender=Video, video_id=video.pk, status=Video.Status.COMPLETED)
        failed = make_video(crew["maya"], status=Video.Status.FAILED, error_code="engine_error")
        video_finished.send(sender=Video, video_id=failed.pk, status=Video.Status.FAILED)
        assert kinds_of(crew["maya"]) == [Kind.JOB_COMPLETED, Kind.JOB_FAILED]
        line = selectors.line_text(Notification.objects.get(kind=Kind.JOB_FAILED))
        assert "failed (engine_error)" in line

    def test_the_jobs_own_failure_path_notifies_the_owner(self, crew: dict[str, Any]) -> None:
        running = make_video(crew["maya"], status=Video.Status.IN_PROGRESS, attempts=1)
        attempt.fail(running.pk, 1, "engine_timeout", "took too long")
        attempt.fail(running.pk, 1, "engine_timeout", "a second delivery: no second line")
        n = Notification.objects.get(user=crew["maya"])
        assert (n.kind, n.detail, n.video_id, n.actor) == (
            Kind.JOB_FAILED,
            "engine_timeout",
            running.pk,
            None,
        )

    def test_a_cancelled_job_notifies_nobody(self, crew: dict[str, Any]) -> None:
        stopped = make_video(crew["maya"], status=Video.Status.FAILED, error_code=CANCELLED)
        video_finished.send(sender=Video, video_id=stopped.pk, status=Video.Status.FAILED)
        assert Notification.objects.count() == 0

    def test_someone_who_lost_sight_of_the_video_is_not_told(self, crew: dict[str, Any]) -> None:
        root = review.comment_create(author=crew["ada"], video=crew["video"], body="Hm")
        Membership.objects.filter(user=crew["ada"]).delete()
        permissions.forget_roles(crew["ada"])
        review.comment_create(author=crew["ivan"], video=crew["video"], body="Yes", parent=root)
        assert kinds_of(crew["ada"]) == []


class TestChoices:
    def test_a_muted_kind_makes_no_line(self, crew: dict[str, Any]) -> None:
        services.choices_update(user=crew["maya"], muted=[Kind.COMMENT], emailed=[])
        review.comment_create(author=crew["ivan"], video=crew["video"], body="Quiet")
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@maya loud")
        assert kinds_of(crew["maya"]) == [Kind.MENTION]

    def test_email_follows_the_choice_made_at_the_time(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada one")
        services.choices_update(user=crew["ada"], muted=[], emailed=[])
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada two")
        to_ada = Notification.objects.filter(user=crew["ada"]).order_by("id")
        assert list(to_ada.values_list("email", flat=True)) == [True, False]

    def test_the_choices_page_saves_and_shows_them(self, crew: dict[str, Any]) -> None:
        client = signed_in(crew["maya"])
        page = client.get(reverse("videos:inbox_choices"))
        assert page.status_code == 200 and "Comments on my videos" in page.content.decode()
        shown = [k for k in Kind.values if k != Kind.REVIEW]
        response = client.post(
            reverse("videos:inbox_choices"), {"shown": shown, "emailed": [Kind.JOB_COMPLETED]}
        )
        assert response.status_code == 302
        choices = selectors.choices_of([crew["maya"]])[crew["maya"].pk]
        assert not choices.shows(Kind.REVIEW) and choices.shows(Kind.MENTION)
        assert choices.emails(Kind.JOB_COMPLETED) and not choices.emails(Kind.MENTION)
        review.review_state_change(actor=crew["ada"], video=crew["video"], to_state="in_review")
        assert kinds_of(crew["maya"]) == []


class TestUnreadCount:
    def test_it_counts_unread_only_in_one_query(self, crew: dict[str, Any]) -> None:
        for i in range(3):
            review.comment_create(author=crew["ivan"], video=crew["video"], body=f"@maya {i}")
        services.mark_read(notification=Notification.objects.filter(user=crew["maya"]).first())
        with CaptureQueriesContext(connection) as queries:
            assert selectors.unread_count(crew["maya"]) == 2
        assert len(queries) == 1
        assert "notification" in queries[0]["sql"].lower()

    def test_a_page_asks_once_however_often_it_shows_the_count(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@maya hi")
        client = signed_in(crew["maya"])
        client.get(reverse("videos:gallery"))  # warm the session and caches
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("videos:gallery"))
        counts = [q for q in queries if "videos_app_notification" in q["sql"]]
        assert len(counts) == 1
        html = page.content.decode()
        assert 'aria-label="Inbox, 1 unread"' in html

    def test_the_count_is_hidden_at_zero(self, crew: dict[str, Any]) -> None:
        html = signed_in(crew["maya"]).get(reverse("videos:gallery")).content.decode()
        assert 'aria-label="Inbox"' in html
        assert "data-inbox-count hidden" in html


class TestPages:
    def test_a_user_sees_only_their_own_lines(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada for ada")
        review.comment_create(author=crew["ada"], video=crew["video"], body="@ivan for ivan")
        html = signed_in(crew["ada"]).get(reverse("videos:inbox")).content.decode()
        assert "for ada" in html and "for ivan" not in html

    def test_marking_another_users_line_answers_404(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada mine")
        theirs = Notification.objects.get(user=crew["ada"])
        client = signed_in(crew["olga"])
        for name in ("videos:inbox_read", "videos:inbox_open"):
            assert client.post(reverse(name, args=[theirs.pk])).status_code == 404
        theirs.refresh_from_db()
        assert theirs.read_at is None

    def test_mark_read_by_htmx_swaps_the_line_and_the_count(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada one")
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada two")
        first = Notification.objects.filter(user=crew["ada"]).order_by("id").first()
        assert first is not None
        response = signed_in(crew["ada"]).post(
            reverse("videos:inbox_read", args=[first.pk]), headers={"HX-Request": "true"}
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert f'id="notification-{first.pk}"' in html and "inbox__item--unread" not in html
        assert 'hx-swap-oob="true"' in html and 'aria-label="Inbox, 1 unread"' in html
        assert selectors.unread_count(crew["ada"]) == 1

    def test_open_marks_read_and_goes_to_the_comment(self, crew: dict[str, Any]) -> None:
        comment = review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada see")
        n = Notification.objects.get(user=crew["ada"])
        response = signed_in(crew["ada"]).post(reverse("videos:inbox_open", args=[n.pk]))
        assert response.status_code == 302
        assert response["Location"] == f"{crew['video'].get_absolute_url()}#comment-{comment.pk}"
        n.refresh_from_db()
        assert n.read_at is not None

    def test_mark_all_read_touches_only_mine(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada @maya both")
        response = signed_in(crew["ada"]).post(reverse("videos:inbox_read_all"))
        assert response.status_code == 302
        assert selectors.unread_count(crew["ada"]) == 0
        assert selectors.unread_count(crew["maya"]) == 1

    def test_the_inbox_needs_a_sign_in(self, crew: dict[str, Any]) -> None:
        assert Client().get(reverse("videos:inbox")).status_code == 302


def later(minutes: float) -> Any:
    return timezone.now() + timedelta(minutes=minutes)


class TestEmailBatching:
    def test_a_busy_thread_sends_one_email(self, crew: dict[str, Any]) -> None:
        root = review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada look")
        for i in range(19):
            review.comment_create(
                author=crew["ivan"], video=crew["video"], body=f"@ada more {i}", parent=root
            )
        assert services.emails_send_due(now=later(0)) == 0  # still gathering
        assert services.emails_send_due(now=later(3)) == 1
        assert services.emails_send_due(now=later(4)) == 0
        to_ada = [m for m in mail.outbox if m.to == ["ada@example.test"]]
        assert len(to_ada) == 1
        assert to_ada[0].subject == "20 new notifications in studio"
        assert to_ada[0].body.count("mentioned you") == 20
        assert not Notification.objects.filter(user=crew["ada"], emailed_at__isnull=True).exists()

    def test_at_most_one_email_per_window(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada first")
        assert services.emails_send_due(now=later(3)) == 1
        n = review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada second")
        Notification.objects.filter(comment=n).update(created_at=later(4))
        assert services.emails_send_due(now=later(8)) == 0  # inside the window
        assert services.emails_send_due(now=later(14)) == 1
        assert [len(m.body.splitlines()) > 0 for m in mail.outbox] == [True, True]

    def test_only_chosen_and_unread_kinds_are_emailed(self, crew: dict[str, Any]) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="plain comment")
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada read first")
        services.mark_all_read(user=crew["ada"])
        assert services.emails_send_due(now=later(3)) == 0  # a comment is not emailed by default
        assert mail.outbox == []

    def test_a_failed_send_is_tried_again(self, crew: dict[str, Any], monkeypatch: Any) -> None:
        review.comment_create(author=crew["ivan"], video=crew["video"], body="@ada again")

        def refuse(*args: Any, **kwargs: Any) -> None:
            raise OSError("smtp down")

        monkeypatch.setattr(services, "send_mail", refuse)
        assert services.emails_send_due(now=later(3)) == 0
        monkeypatch.undo()
        assert services.emails_send_due(now=later(4)) == 1
        assert len(mail.outbox) == 1
