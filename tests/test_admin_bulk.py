"""Admin bulk actions (delete with files, review state, move team) and the admin's pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.files.base import ContentFile
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from tests.conftest import stored_files
from tests.factories import make_user, make_video
from videos_app.models import Comment, Membership, ReviewEvent, Team, Video

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:videos_app_video_changelist"


@pytest.fixture
def root() -> AbstractUser:
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(root: AbstractUser) -> Client:
    client = Client()
    client.force_login(root)
    return client


def team(slug: str) -> Team:
    return Team.objects.create(name=slug.title(), slug=slug)


def completed(size: int = 4, **kwargs: Any) -> Video:
    video = make_video(status=Video.Status.COMPLETED, progress=100, file_size=size, **kwargs)
    for field, name in (("video_file", "video.mp4"), ("thumbnail_file", "thumbnail.webp")):
        getattr(video, field).save(f"videos/{video.pk}/{name}", ContentFile(b"data"))
    return video


def act(client: Client, action: str, videos: list[Video], **extra: Any) -> Any:
    data = {"action": action, "_selected_action": [v.pk for v in videos], **extra}
    return client.post(reverse(CHANGELIST), data, follow=False)


def test_delete_with_assets_removes_rows_and_files_and_skips_rendering_ones(
    admin_client: Client, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    done = completed()
    running = make_video(status=Video.Status.IN_PROGRESS)
    # A finished source whose remix is still rendering from it is kept too.
    source = completed()
    make_video(status=Video.Status.QUEUED, source=source, operation=Video.Operation.REMIX)
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "delete_with_assets", [done, running, source], apply="1")
    assert response.status_code == 302
    assert not Video.objects.filter(pk=done.pk).exists()
    assert Video.objects.filter(pk__in=[running.pk, source.pk]).count() == 2
    assert not any(name.startswith(f"videos/{done.pk}/") for name in stored_files(media_root))
    assert any(name.startswith(f"videos/{source.pk}/") for name in stored_files(media_root))
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "Deleted 1 video(s) with their files." in page
    assert "Skipped 2 still rendering" in page


def test_delete_with_assets_asks_before_deleting_anything(
    admin_client: Client, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    done = completed()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "delete_with_assets", [done])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Delete the selected videos and their files?" in page
    assert 'value="Yes, delete them"' in page
    assert f'name="_selected_action" value="{done.pk}"' in page
    assert Video.objects.filter(pk=done.pk).exists()
    assert any(name.startswith(f"videos/{done.pk}/") for name in stored_files(media_root))


def test_set_review_state_asks_for_the_state_then_records_events(
    admin_client: Client, root: AbstractUser
) -> None:
    draft = completed()
    approved = completed(review_state=Video.ReviewState.APPROVED)
    first = act(admin_client, "set_review_state", [draft, approved])
    assert first.status_code == 200
    body = first.content.decode()
    assert 'name="review_state"' in body and draft.pk in body
    assert not ReviewEvent.objects.exists()

    response = act(
        admin_client, "set_review_state", [draft, approved], apply="1", review_state="in_review"
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    approved.refresh_from_db()
    assert draft.review_state == approved.review_state == "in_review"
    assert draft.review_changed_by == root
    events = ReviewEvent.objects.order_by("video_id")
    assert {(e.video_id, e.from_state, e.to_state, e.actor_id) for e in events} == {
        (draft.pk, "draft", "in_review", root.pk),
        (approved.pk, "approved", "in_review", root.pk),
    }


def test_set_review_state_skips_transitions_the_rules_refuse(admin_client: Client) -> None:
    draft = completed()
    act(admin_client, "set_review_state", [draft], apply="1", review_state="approved")
    draft.refresh_from_db()
    assert draft.review_state == "draft"
    assert not ReviewEvent.objects.exists()
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "Skipped 1:" in page


def test_set_review_state_counts_videos_already_in_that_state(admin_client: Client) -> None:
    in_review = completed(review_state=Video.ReviewState.IN_REVIEW)
    draft = completed()
    act(admin_client, "set_review_state", [in_review, draft], apply="1", review_state="in_review")
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "Set 1 video(s) to “Needs review” (1 already were)." in page


def test_set_review_state_with_an_unknown_state_changes_nothing(admin_client: Client) -> None:
    draft = completed()
    response = act(admin_client, "set_review_state", [draft], apply="1", review_state="bogus")
    assert response.status_code == 200  # the choice page again, with the error
    assert "Select a valid choice" in response.content.decode()
    draft.refresh_from_db()
    assert draft.review_state == "draft"


def test_move_to_team_asks_for_the_team_then_moves(admin_client: Client) -> None:
    a, b = team("alpha"), team("beta")
    one, two = completed(team=a), completed()
    first = act(admin_client, "move_to_team", [one, two])
    assert first.status_code == 200 and "Beta" in first.content.decode()
    response = act(admin_client, "move_to_team", [one, two], apply="1", team=str(b.pk))
    assert response.status_code == 302
    assert set(Video.objects.values_list("team_id", flat=True)) == {b.pk}
    act(admin_client, "move_to_team", [one], apply="1", team="")
    one.refresh_from_db()
    assert one.team_id is None


def test_storage_per_team_sums_file_sizes_in_one_query(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    a, b, _empty = team("alpha"), team("beta"), team("gamma")
    for member in (make_user(), make_user()):
        Membership.objects.create(team=a, user=member)
    completed(size=1000, team=a)
    completed(size=2500, team=a)
    completed(size=70, team=b)
    completed(size=5)
    from videos_app.teams.selectors import teams_with_storage

    with django_assert_max_num_queries(1):
        rows = {
            t.slug: (t.storage_bytes, t.video_count, t.n_members)
            for t in teams_with_storage(Team.objects.all()).annotate(n_members=Count("memberships"))
        }
    assert rows == {"alpha": (3500, 2, 2), "beta": (70, 1, 0), "gamma": (0, 0, 0)}
    page = admin_client.get(reverse("admin:videos_app_video_storage")).content.decode()
    assert '<td class="mono">3500</td>' in page
    assert '<td class="mono">5</td>' in page  # no team
    assert '<td class="mono">3575</td>' in page  # all


def test_recent_activity_merges_videos_reviews_and_comments_newest_first(
    admin_client: Client, root: AbstractUser
) -> None:
    video = completed(prompt="a harbour at noon")
    ReviewEvent.objects.create(video=video, actor=root, from_state="draft", to_state="in_review")
    Comment.objects.create(video=video, author=root, body="love the light here")
    page = admin_client.get(reverse("admin:videos_app_video_activity")).content.decode()
    order = [
        page.index("love the light here"),
        page.index("Draft → Needs review"),
        page.index("a harbour at noon"),
    ]
    assert order == sorted(order)


def test_recent_activity_links_open_every_video_even_ids_the_admin_would_unescape(
    admin_client: Client,
) -> None:
    """ "_22" in an admin URL reads as '"': the links must be quoted like the admin's own."""
    video = completed(id="video_22" + "ab" * 15, prompt="a quoted id")
    page = admin_client.get(reverse("admin:videos_app_video_activity")).content.decode()
    link = re.search(rf'<a href="([^"]+)">{video.pk}</a>', page)
    assert link, page
    opened = admin_client.get(link[1])
    assert opened.status_code == 200 and video.pk in opened.content.decode()


def test_the_admin_index_links_the_studio_pages(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:videos_app_video_activity") in page
    assert reverse("admin:videos_app_video_storage") in page


def test_the_studio_admin_pages_are_staff_only() -> None:
    client = Client()
    client.force_login(make_user("plain"))
    response = client.get(reverse("admin:videos_app_video_storage"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_team_changelist_shows_storage_and_counts_in_one_query(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    alpha = team("alpha")
    completed(size=3 * 1024 * 1024, team=alpha)
    completed(size=1024 * 1024, team=alpha)
    url = reverse("admin:videos_app_team_changelist")
    admin_client.get(url)  # warm the session and content types
    page = admin_client.get(url).content.decode()
    assert "4.0\xa0MB" in page
    assert '<td class="field-video_count">2</td>' in page
    # The list's own rows: one query, however many teams (plus the admin's fixed ones).
    for i in range(5):
        completed(size=10, team=team(f"more{i}"))
    with django_assert_max_num_queries(8) as few:
        admin_client.get(url)
    for i in range(20):
        completed(size=10, team=team(f"extra{i}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(url)
