"""Reviewing a video: favorites, the review state, comments with mentions and moments."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.factories import make_user, make_video
from videos_app import permissions
from videos_app.models import Comment, Favorite, Membership, ReviewEvent, Team, Video
from videos_app.review import services as services_review

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
State = Video.ReviewState
_n = itertools.count(1)


def team_of(**members: AbstractUser) -> Team:
    """A team with members given as role=user (admin, editor, viewer; suffixes allowed)."""
    n = next(_n)
    team = Team.objects.create(name=f"Team {n}", slug=f"team-{n}")
    for role, user in members.items():
        Membership.objects.create(team=team, user=user, role=role.rstrip("0123456789"))
        permissions.forget_roles(user)
    return team


def signed_in(user: AbstractUser) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def crew() -> dict[str, Any]:
    """A team: maya (editor, creator), ivan (viewer), ada (admin); olga is an outsider."""
    maya, ivan, ada, olga = (make_user(n) for n in ("maya", "ivan", "ada", "olga"))
    team = team_of(editor=maya, viewer=ivan, admin=ada)
    video = make_video(maya, team=team, status=Video.Status.COMPLETED, seconds=8)
    return {"maya": maya, "ivan": ivan, "ada": ada, "olga": olga, "team": team, "video": video}


class TestFavoriteService:
    def test_it_toggles_a_favorite_on_and_off(self, crew: dict[str, Any]) -> None:
        ivan, video = crew["ivan"], crew["video"]
        assert services_review.favorite_toggle(user=ivan, video=video) is True
        assert Favorite.objects.filter(user=ivan, video=video).count() == 1
        assert services_review.favorite_toggle(user=ivan, video=video) is False
        assert not Favorite.objects.exists()

    def test_favorites_are_per_user(self, crew: dict[str, Any]) -> None:
        services_review.favorite_toggle(user=crew["ivan"], video=crew["video"])
        services_review.favorite_toggle(user=crew["maya"], video=crew["video"])
        assert Favorite.objects.count() == 2

    def test_an_outsider_cannot_favorite(self, crew: dict[str, Any]) -> None:
        with pytest.raises(PermissionDenied):
            services_review.favorite_toggle(user=crew["olga"], video=crew["video"])
        assert not Favorite.objects.exists()


class TestFavoriteView:
    def test_htmx_gets_the_button_back_pressed(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        url = reverse("videos:favorite", args=[video.pk])
        response = signed_in(crew["ivan"]).post(url, {"next": "/"}, headers=HTMX)
        assert response.status_code == 200
        body = response.content.decode()
        assert f'id="fav-{video.pk}"' in body and 'aria-pressed="true"' in body
        assert "<html" not in body

    def test_a_plain_post_goes_back_to_the_page_it_came_from(self, crew: dict[str, Any]) -> None:
        url = reverse("videos:favorite", args=[crew["video"].pk])
        response = signed_in(crew["ivan"]).post(url, {"next": "/?page=2"})
        assert response.status_code == 302 and response["Location"] == "/?page=2"
        assert Favorite.objects.count() == 1

    def test_it_does_not_redirect_off_site(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        url = reverse("videos:favorite", args=[video.pk])
        response = signed_in(crew["ivan"]).post(url, {"next": "https://evil.example/"})
        assert response["Location"] == video.get_absolute_url()

    def test_an_outsider_gets_404_and_nothing_changes(self, crew: dict[str, Any]) -> None:
        url = reverse("videos:favorite", args=[crew["video"].pk])
        assert signed_in(crew["olga"]).post(url, headers=HTMX).status_code == 404
        assert not Favorite.objects.exists()

    def test_it_answers_only_post(self, crew: dict[str, Any]) -> None:
        url = reverse("videos:favorite", args=[crew["video"].pk])
        assert signed_in(crew["ivan"]).get(url).status_code == 405

    def test_the_detail_page_shows_the_state(self, crew: dict[str, Any]) -> None:
        video, ivan = crew["video"], crew["ivan"]
        Favorite.objects.create(user=ivan, video=video)
        page = signed_in(ivan).get(video.get_absolute_url()).content.decode()
        assert 'aria-pressed="true"' in page
        page = signed_in(crew["maya"]).get(video.get_absolute_url()).content.decode()
        assert 'aria-pressed="false"' in page


class TestReviewService:
    @pytest.mark.parametrize(
        ("path", "end"),
        [
            ([State.IN_REVIEW, State.APPROVED], State.APPROVED),
            ([State.IN_REVIEW, State.REJECTED, State.IN_REVIEW], State.IN_REVIEW),
            ([State.IN_REVIEW, State.DRAFT], State.DRAFT),
            ([State.IN_REVIEW, State.APPROVED, State.IN_REVIEW, State.REJECTED], State.REJECTED),
        ],
    )
    def test_valid_transitions_record_who_and_when(
        self, crew: dict[str, Any], path: list[str], end: str
    ) -> None:
        video, ada = crew["video"], crew["ada"]
        for to_state in path:
            services_review.review_state_change(actor=ada, video=video, to_state=to_state)
        video.refresh_from_db()
        assert video.review_state == end
        assert video.review_changed_by == ada and video.review_changed_at is not None
        events = list(ReviewEvent.objects.filter(video=video).order_by("id"))
        assert [e.to_state for e in events] == path
        assert [e.from_state for e in events] == [State.DRAFT, *path[:-1]]
        assert all(e.actor == ada for e in events)

    @pytest.mark.parametrize(
        ("start", "to_state"),
        [
            (State.DRAFT, State.APPROVED),
            (State.DRAFT, State.REJECTED),
            (State.DRAFT, State.DRAFT),
            (State.APPROVED, State.REJECTED),
            (State.APPROVED, State.DRAFT),
            (State.REJECTED, State.APPROVED),
            (State.DRAFT, "published"),
        ],
    )
    def test_invalid_transitions_change_nothing(
        self, crew: dict[str, Any], start: str, to_state: str
    ) -> None:
        video = crew["video"]
        Video.objects.filter(pk=video.pk).update(review_state=start)
        video.refresh_from_db()
        with pytest.raises(ValidationError):
            services_review.review_state_change(actor=crew["maya"], video=video, to_state=to_state)
        video.refresh_from_db()
        assert video.review_state == start and video.review_changed_by is None
        assert not ReviewEvent.objects.exists()

    def test_a_viewer_cannot_review(self, crew: dict[str, Any]) -> None:
        with pytest.raises(PermissionDenied):
            services_review.review_state_change(
                actor=crew["ivan"], video=crew["video"], to_state=State.IN_REVIEW
            )
        assert not ReviewEvent.objects.exists()

    def test_the_creator_reviews_a_video_without_a_team(self) -> None:
        maya = make_user("maya")
        video = make_video(maya)
        services_review.review_state_change(actor=maya, video=video, to_state=State.IN_REVIEW)
        assert Video.objects.get(pk=video.pk).review_state == State.IN_REVIEW

    def test_of_two_racing_reviewers_one_wins_and_no_event_is_lost(
        self, crew: dict[str, Any]
    ) -> None:
        # Both loaded the video while it was in review; the second answer is stale.
        video = crew["video"]
        Video.objects.filter(pk=video.pk).update(review_state=State.IN_REVIEW)
        seen_by_maya = Video.objects.get(pk=video.pk)
        seen_by_ada = Video.objects.get(pk=video.pk)
        services_review.review_state_change(
            actor=crew["ada"], video=seen_by_ada, to_state=State.APPROVED
        )
        with pytest.raises(ValidationError) as info:
            services_review.review_state_change(
                actor=crew["maya"], video=seen_by_maya, to_state=State.REJECTED
            )
        assert info.value.code == "stale_state"
        video.refresh_from_db()
        assert video.review_state == State.APPROVED and video.review_changed_by == crew["ada"]
        events = list(ReviewEvent.objects.all())
        assert [(e.from_state, e.to_state) for e in events] == [(State.IN_REVIEW, State.APPROVED)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_reviewers_in_threads_record_exactly_one_change() -> None:
    if connection.vendor == "sqlite":
        # The in-memory test database's shared cache answers "table is locked" to a
        # second writer instead of waiting; the PostgreSQL pass runs this.
        pytest.skip("needs a database that lets two connections wait on each other")
    maya, ada = make_user("maya"), make_user("ada")
    team = team_of(editor=maya, admin=ada)
    video = make_video(maya, team=team, review_state=State.IN_REVIEW, status=Video.Status.COMPLETED)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def review(user: AbstractUser, to_state: str) -> None:
        seen = Video.objects.get(pk=video.pk)
        barrier.wait()
        try:
            services_review.review_state_change(actor=user, video=seen, to_state=to_state)
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("stale")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=review, args=(ada, State.APPROVED)),
        threading.Thread(target=review, args=(maya, State.REJECTED)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "stale"]
    assert ReviewEvent.objects.count() == 1


class TestReviewView:
    def url(self, video: Video) -> str:
        return reverse("videos:review", args=[video.pk])

    def test_an_editor_moves_it_and_gets_the_box_back(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        response = signed_in(crew["maya"]).post(
            self.url(video), {"to_state": State.IN_REVIEW}, headers=HTMX
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert body.lstrip().startswith(("{", "<section", "\n<section")) or 'id="review"' in body
        assert "<html" not in body and 'id="review"' in body
        assert "Needs review" in body and "by maya" in body
        # In review, the next moves are offered (approving is the approvers': ada, an admin).
        assert ">Approve</button>" not in body
        for label in ("Request changes", "Back to draft"):
            assert f">{label}</button>" in body
        assert ">Send to review</button>" not in body
        assert Video.objects.get(pk=video.pk).review_state == State.IN_REVIEW

    def test_a_plain_post_redirects_to_the_page(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        response = signed_in(crew["ada"]).post(self.url(video), {"to_state": State.IN_REVIEW})
        assert response.status_code == 302
        assert response["Location"] == f"{video.get_absolute_url()}#review"

    def test_an_invalid_move_shows_an_error_and_changes_nothing(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        response = signed_in(crew["maya"]).post(
            self.url(video), {"to_state": State.APPROVED}, headers=HTMX
        )
        assert response["X-Studio-Error"] == "review"
        assert "cannot become approved" in response.content.decode()
        assert Video.objects.get(pk=video.pk).review_state == State.DRAFT
        assert not ReviewEvent.objects.exists()

    def test_a_viewer_gets_403_and_sees_no_buttons(self, crew: dict[str, Any]) -> None:
        video, ivan = crew["video"], crew["ivan"]
        response = signed_in(ivan).post(self.url(video), {"to_state": State.IN_REVIEW})
        assert response.status_code == 403
        assert Video.objects.get(pk=video.pk).review_state == State.DRAFT
        page = signed_in(ivan).get(video.get_absolute_url()).content.decode()
        assert 'id="review"' in page and ">Send to review</button>" not in page
        assert "Editors and admins" in page

    def test_an_outsider_gets_404(self, crew: dict[str, Any]) -> None:
        response = signed_in(crew["olga"]).post(
            self.url(crew["video"]), {"to_state": State.IN_REVIEW}
        )
        assert response.status_code == 404

    def test_the_page_lists_the_history(self, crew: dict[str, Any]) -> None:
        video, ada = crew["video"], crew["ada"]
        services_review.review_state_change(actor=ada, video=video, to_state=State.IN_REVIEW)
        services_review.review_state_change(actor=ada, video=video, to_state=State.REJECTED)
        page = signed_in(crew["ivan"]).get(video.get_absolute_url()).content.decode()
        assert "History (2)" in page
        assert page.count("· ada ·") == 2


class TestCommentService:
    def test_it_stores_mentions_of_teammates_only(self, crew: dict[str, Any]) -> None:
        make_user("stranger")
        comment = services_review.comment_create(
            author=crew["ivan"],
            video=crew["video"],
            body="@maya @ADA look; @olga @stranger @nobody and mail me at x@maya.example",
        )
        assert {u.username for u in comment.mentions.all()} == {"maya", "ada"}

    def test_a_mention_may_end_a_sentence(self, crew: dict[str, Any]) -> None:
        j_doe = make_user("j.doe")
        Membership.objects.create(team=crew["team"], user=j_doe, role="viewer")
        comment = services_review.comment_create(
            author=crew["ivan"], video=crew["video"], body="Thanks @maya. And @j.doe!"
        )
        assert {u.username for u in comment.mentions.all()} == {"maya", "j.doe"}

    def test_a_video_without_a_team_mentions_nobody(self) -> None:
        maya = make_user("maya")
        make_user("ivan")
        comment = services_review.comment_create(
            author=maya, video=make_video(maya), body="@ivan see this"
        )
        assert not comment.mentions.exists()

    @pytest.mark.parametrize("at", [0.0, 2.5, 8.0])
    def test_it_accepts_a_moment_inside_the_video(self, crew: dict[str, Any], at: float) -> None:
        comment = services_review.comment_create(
            author=crew["ivan"], video=crew["video"], body="here", at_seconds=at
        )
        assert comment.at_seconds == at

    @pytest.mark.parametrize("at", [-0.1, 8.01, 100.0, float("nan"), float("inf")])
    def test_it_rejects_a_moment_outside_the_video(self, crew: dict[str, Any], at: float) -> None:
        with pytest.raises(ValidationError) as info:
            services_review.comment_create(
                author=crew["ivan"], video=crew["video"], body="here", at_seconds=at
            )
        assert "at_seconds" in info.value.error_dict
        assert not Comment.objects.exists()

    @pytest.mark.parametrize("body", ["", "   \n ", "x" * 2001])
    def test_it_rejects_an_empty_or_too_long_body(self, crew: dict[str, Any], body: str) -> None:
        with pytest.raises(ValidationError):
            services_review.comment_create(author=crew["ivan"], video=crew["video"], body=body)
        assert not Comment.objects.exists()

    def test_a_reply_to_a_reply_joins_the_thread_root(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        root = services_review.comment_create(author=crew["maya"], video=video, body="root")
        reply = services_review.comment_create(
            author=crew["ivan"], video=video, body="reply", parent=root
        )
        deeper = services_review.comment_create(
            author=crew["ada"], video=video, body="reply to the reply", parent=reply
        )
        assert reply.parent == root and deeper.parent == root

    def test_a_reply_must_be_on_the_same_video(self, crew: dict[str, Any]) -> None:
        other = make_video(crew["maya"], team=crew["team"])
        root = services_review.comment_create(author=crew["maya"], video=other, body="root")
        with pytest.raises(ValidationError):
            services_review.comment_create(
                author=crew["maya"], video=crew["video"], body="x", parent=root
            )

    def test_an_outsider_cannot_comment(self, crew: dict[str, Any]) -> None:
        with pytest.raises(PermissionDenied):
            services_review.comment_create(author=crew["olga"], video=crew["video"], body="hi")

    def test_only_the_author_or_staff_deletes(self, crew: dict[str, Any]) -> None:
        comment = services_review.comment_create(author=crew["ivan"], video=crew["video"], body="x")
        with pytest.raises(PermissionDenied):
            services_review.comment_delete(actor=crew["ada"], comment=comment)
        staff = make_user("root", is_staff=True)
        services_review.comment_delete(actor=staff, comment=comment)
        assert not Comment.objects.exists()


class TestCommentViews:
    def url(self, video: Video) -> str:
        return reverse("videos:comments", args=[video.pk])

    def test_a_viewer_comments_at_a_moment_with_htmx(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        response = signed_in(crew["ivan"]).post(
            self.url(video),
            {"body": "the wave @maya <b>here</b>", "at_seconds": "2.5"},
            headers=HTMX,
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert "<html" not in body and 'id="comments"' in body
        comment = Comment.objects.get()
        assert comment.author == crew["ivan"] and comment.at_seconds == 2.5
        assert '<span class="mention">@maya</span>' in body
        assert "&lt;b&gt;here&lt;/b&gt;" in body  # escaped, not markup
        assert 'data-seek="2.500"' in body and "0:02.5" in body
        assert 'title="Go to 0:02.5 in the video"' in body  # it seeks; it does not play
        assert f"{reverse('videos:media', args=[video.pk, 'video'])}#t=2.500" in body

    def test_an_unknown_name_stays_plain_text(self, crew: dict[str, Any]) -> None:
        signed_in(crew["ivan"]).post(self.url(crew["video"]), {"body": "@olga hi"}, headers=HTMX)
        page = signed_in(crew["ivan"]).get(crew["video"].get_absolute_url()).content.decode()
        assert "@olga hi" in page and '<span class="mention">@olga' not in page

    def test_a_plain_post_redirects_to_the_comment(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        response = signed_in(crew["ivan"]).post(self.url(video), {"body": "nice"})
        comment = Comment.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"{video.get_absolute_url()}#comment-{comment.pk}"

    def test_a_bad_moment_shows_the_error_with_htmx_and_stores_nothing(
        self, crew: dict[str, Any]
    ) -> None:
        response = signed_in(crew["ivan"]).post(
            self.url(crew["video"]), {"body": "keep me", "at_seconds": "9"}, headers=HTMX
        )
        body = response.content.decode()
        assert response.status_code == 200 and 'id="comments"' in body
        assert "A moment between 0 and 8 s." in body and "keep me" in body
        assert not Comment.objects.exists()

    def test_a_bad_comment_without_js_shows_the_page_with_a_400(self, crew: dict[str, Any]) -> None:
        response = signed_in(crew["ivan"]).post(self.url(crew["video"]), {"body": ""})
        assert response.status_code == 400
        body = response.content.decode()
        assert "<html" in body and "Write something first." in body
        assert not Comment.objects.exists()

    def test_replies_are_threaded_on_the_page(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        root = services_review.comment_create(author=crew["maya"], video=video, body="first")
        signed_in(crew["ivan"]).post(
            self.url(video), {"body": "answer", "parent": str(root.pk)}, headers=HTMX
        )
        reply = Comment.objects.get(body="answer")
        assert reply.parent == root
        page = signed_in(crew["ivan"]).get(video.get_absolute_url()).content.decode()
        replies = page.split('class="thread__replies"', 1)
        assert len(replies) == 2 and f'id="comment-{reply.pk}"' in replies[1]

    def test_a_reply_to_a_comment_of_another_video_is_refused(self, crew: dict[str, Any]) -> None:
        other = make_video(crew["maya"], team=crew["team"])
        root = services_review.comment_create(author=crew["maya"], video=other, body="elsewhere")
        response = signed_in(crew["ivan"]).post(
            self.url(crew["video"]), {"body": "x", "parent": str(root.pk)}, headers=HTMX
        )
        assert "That comment is gone." in response.content.decode()
        assert Comment.objects.count() == 1

    def test_the_section_answers_htmx_get_and_redirects_a_plain_get(
        self, crew: dict[str, Any]
    ) -> None:
        video = crew["video"]
        client = signed_in(crew["ivan"])
        fragment = client.get(self.url(video), headers=HTMX)
        assert fragment.status_code == 200 and 'id="comments"' in fragment.content.decode()
        plain = client.get(self.url(video))
        assert plain.status_code == 302 and plain["Location"].endswith("#comments")

    def test_an_outsider_gets_404_and_nothing_is_stored(self, crew: dict[str, Any]) -> None:
        client = signed_in(crew["olga"])
        assert client.post(self.url(crew["video"]), {"body": "hi"}).status_code == 404
        assert client.get(self.url(crew["video"]), headers=HTMX).status_code == 404
        assert not Comment.objects.exists()

    def test_a_private_video_is_hidden_from_the_team(self, crew: dict[str, Any]) -> None:
        private = make_video(crew["maya"], team=crew["team"], visibility=Video.Visibility.PRIVATE)
        response = signed_in(crew["ivan"]).post(self.url(private), {"body": "hi"})
        assert response.status_code == 404

    def test_the_author_deletes_and_others_get_403(self, crew: dict[str, Any]) -> None:
        video = crew["video"]
        comment = services_review.comment_create(author=crew["ivan"], video=video, body="oops")
        url = reverse("videos:comment_delete", args=[video.pk, comment.pk])
        assert signed_in(crew["maya"]).post(url).status_code == 403
        assert Comment.objects.exists()
        page = signed_in(crew["maya"]).get(video.get_absolute_url()).content.decode()
        assert url not in page
        response = signed_in(crew["ivan"]).post(url, headers=HTMX)
        assert response.status_code == 200 and "No comments yet" in response.content.decode()
        assert not Comment.objects.exists()

    def test_deleting_a_comment_of_another_video_is_404(self, crew: dict[str, Any]) -> None:
        other = make_video(crew["maya"], team=crew["team"])
        comment = services_review.comment_create(author=crew["ivan"], video=other, body="x")
        url = reverse("videos:comment_delete", args=[crew["video"].pk, comment.pk])
        assert signed_in(crew["ivan"]).post(url).status_code == 404
        assert Comment.objects.exists()


class TestMentionsPage:
    def test_it_lists_comments_that_mention_me_on_videos_i_can_see(
        self, crew: dict[str, Any]
    ) -> None:
        video = crew["video"]
        services_review.comment_create(author=crew["ivan"], video=video, body="@maya the sky")
        services_review.comment_create(author=crew["ivan"], video=video, body="no one here")
        private = make_video(crew["ada"], team=crew["team"], visibility=Video.Visibility.PRIVATE)
        hidden = services_review.comment_create(author=crew["ada"], video=private, body="x")
        hidden.mentions.add(crew["maya"])  # made visible only to ada later
        page = signed_in(crew["maya"]).get(reverse("videos:mentions")).content.decode()
        assert '<span class="mention">@maya</span> the sky' in page
        assert "no one here" not in page and f"#comment-{hidden.pk}" not in page
        assert 'href="/mentions/" aria-current="page"' in page

    def test_it_has_an_empty_state(self, crew: dict[str, Any]) -> None:
        page = signed_in(crew["olga"]).get(reverse("videos:mentions")).content.decode()
        assert "No mentions yet" in page


class TestAdmin:
    def test_staff_see_comments_and_the_read_only_review_history(
        self, crew: dict[str, Any]
    ) -> None:
        video = crew["video"]
        services_review.comment_create(author=crew["ivan"], video=video, body="in the admin")
        event = services_review.review_state_change(
            actor=crew["ada"], video=video, to_state=State.IN_REVIEW
        )
        client = signed_in(make_user("root", is_staff=True, is_superuser=True))
        page = client.get(reverse("admin:videos_app_comment_changelist"))
        assert page.status_code == 200 and "in the admin" in page.content.decode()
        assert client.get(reverse("admin:videos_app_reviewevent_changelist")).status_code == 200
        assert client.get(reverse("admin:videos_app_reviewevent_add")).status_code == 403
        change = reverse("admin:videos_app_reviewevent_change", args=[event.pk])
        client.post(change, {"to_state": State.APPROVED})
        assert ReviewEvent.objects.get(pk=event.pk).to_state == State.IN_REVIEW


def test_the_detail_page_reads_comments_in_a_fixed_number_of_queries(
    crew: dict[str, Any],
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    video, ivan = crew["video"], crew["ivan"]
    client = signed_in(ivan)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(video.get_absolute_url()).status_code == 200
        return len(captured)

    root = services_review.comment_create(author=crew["maya"], video=video, body="@ivan one")
    queries()  # the first request also loads the signed-in user (cached after)
    one = queries()
    for n in range(5):
        services_review.comment_create(
            author=crew["ada"], video=video, body=f"@maya @ivan {n}", parent=root
        )
        services_review.comment_create(author=ivan, video=video, body=f"{n}", at_seconds=n)
    assert queries() == one


def test_the_finished_jobs_swap_leaves_the_comment_form_alone(crew: dict[str, Any]) -> None:
    # The stage is swapped when the job ends; a comment being typed must survive it.
    video = crew["video"]
    client = signed_in(crew["ivan"])
    page = client.get(video.get_absolute_url()).content.decode()
    assert page.count('id="comments"') == 1 and "data-at-now" in page
    stage = client.get(reverse("videos:status", args=[video.pk]), headers=HTMX)
    body = stage.content.decode()
    assert 'id="stage"' in body and 'id="review"' in body
    assert 'id="comments"' not in body and 'id="comment-body"' not in body
