"""Share links: who may make and revoke them, and that a link shows only what was shared
(not other videos, not another version, not the team's comments, never another video's
file), that a dead link is a 404, and that passphrase guessing is rate-limited."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import client_for, crew_cast, image_bytes, make_video, mp4_bytes
from videos_app.api import ratelimit
from videos_app.inbox.models import Kind, Notification
from videos_app.models import Comment, SharedComment, ShareLink, ShareUse, Team, Video
from videos_app.sharing import selectors, services

pytestmark = pytest.mark.django_db
ROLES = ("admin", "editor", "viewer", "outsider", "staff")


@pytest.fixture
def crew() -> dict[str, AbstractUser]:
    return crew_cast(ROLES, outsider="outsider")


@pytest.fixture(autouse=True)
def one_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's passphrase failures counted in one minute's window (a test that ran
    across a minute's end would start counting again), and none of another test's."""
    monkeypatch.setattr(ratelimit, "_counters", {})
    monkeypatch.setattr(ratelimit, "_window", lambda now=None: (1, 30))


def finished(owner: AbstractUser, prompt: str = "a red kite over hills", **kwargs: Any) -> Video:
    kwargs.setdefault("team", Team.objects.get(slug="crew"))
    video = make_video(owner, prompt=prompt, status=Video.Status.COMPLETED, progress=100, **kwargs)
    data = mp4_bytes()
    video.video_file.save(f"videos/{video.pk}/video.mp4", ContentFile(data), save=False)
    video.thumbnail_file.save(
        f"videos/{video.pk}/thumbnail.webp", ContentFile(image_bytes(32, 18, "WEBP")), save=False
    )
    video.file_size = len(data)
    video.save()
    return video


def share(
    user: AbstractUser, *videos: Video, passphrase: str = "", **kwargs: Any
) -> tuple[ShareLink, str]:
    kwargs.setdefault("expires_in", timedelta(days=30))
    kwargs.setdefault("allow_comments", True)
    kwargs.setdefault("allow_download", False)
    return services.share_create(user=user, videos=list(videos), passphrase=passphrase, **kwargs)


def page_url(token: str) -> str:
    return reverse("videos:share", args=[token])


def media_url(token: str, video: Video, variant: str = "video") -> str:
    return reverse("videos:share_media", args=[token, video.pk, variant])


def post_new(client: Client, *videos: Video, **data: Any) -> Any:
    body = {"videos": [v.pk for v in videos], "label": "", "expires": "30", "allow_comments": "on"}
    return client.post(reverse("videos:share_new"), {**body, **data})


class TestMakingALink:
    def test_an_editor_makes_a_link_shown_once_and_only_its_hash_is_stored(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"])
        response = post_new(client_for(crew["editor"]), video, label="For the client")
        assert response.status_code == 200
        assert response["Cache-Control"] == "private, no-store"
        url = re.search(r'value="(http[^"]+/s/([^/"]+)/)"', response.content.decode())
        assert url, response.content.decode()[:2000]
        token = url.group(2)
        link = ShareLink.objects.get()
        assert link.token_hash == selectors.token_hash(token) != token
        assert token not in link.token_hash
        assert link.label == "For the client" and link.team.slug == "crew"
        assert list(link.videos.all()) == [video]
        assert link.expires_at is not None
        assert link.expires_at - timezone.now() > timedelta(days=29)

    def test_the_share_form_lists_the_gallerys_selection(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        one, two = finished(crew["admin"], "first kite"), finished(crew["admin"], "second kite")
        url = reverse("videos:share_new") + f"?selection=1&v={one.pk}&v={two.pk}"
        response = client_for(crew["editor"]).get(url)
        assert response.status_code == 200
        assert "first kite" in response.content.decode()
        assert "second kite" in response.content.decode()

    @pytest.mark.parametrize("role", ["viewer", "outsider"])
    def test_a_viewer_or_an_outsider_cannot_share(
        self, crew: dict[str, AbstractUser], role: str
    ) -> None:
        video = finished(crew["admin"])
        client = client_for(crew[role])
        assert (
            "None of these videos can be shared by you"
            in client.get(reverse("videos:share_new") + f"?v={video.pk}").content.decode()
        )
        assert post_new(client, video).status_code == 400
        assert not ShareLink.objects.exists()

    def test_the_share_page_needs_an_account(self, crew: dict[str, AbstractUser]) -> None:
        response = Client().get(reverse("videos:share_new"))
        assert response.status_code == 302 and "/login" in response["Location"]

    def test_a_passphrase_is_stored_hashed_and_never_expiring_is_allowed(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"])
        post_new(client_for(crew["admin"]), video, passphrase="open sesame", expires="never")
        link = ShareLink.objects.get()
        assert link.expires_at is None
        assert link.passphrase_hash and "open sesame" not in link.passphrase_hash

    def test_videos_of_two_teams_are_refused(self, crew: dict[str, AbstractUser]) -> None:
        ours = finished(crew["admin"])
        mine = finished(crew["admin"], team=None)
        with pytest.raises(Exception, match="one team"):
            share(crew["admin"], ours, mine)


class TestWhatALinkShows:
    def test_a_visitor_without_a_session_sees_the_video_and_its_player(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"], "the shared kite")
        link, token = share(crew["editor"], video)
        response = Client().get(page_url(token))
        assert response.status_code == 200
        html = response.content.decode()
        assert "the shared kite" in html
        assert f'src="{media_url(token, video)}"' in html
        assert ShareUse.objects.get(link=link).kind == ShareUse.Kind.OPENED
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        assert response["Cache-Control"] == "private, no-store"

    def test_it_shows_no_other_video_no_other_version_and_no_team_comment(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"], "the shared kite")
        remix = finished(crew["admin"], "the remixed kite", source=video, operation="remix")
        finished(crew["admin"], "an unshared lighthouse")
        Comment.objects.create(video=video, author=crew["editor"], body="internal: too dark")
        _, token = share(crew["editor"], video)
        html = Client().get(page_url(token)).content.decode()
        assert "the remixed kite" not in html and "an unshared lighthouse" not in html
        assert "internal: too dark" not in html
        assert remix.pk not in html
        # Every address on the page is the link's own (or the site's static files and home).
        addresses = re.findall(r'(?:src|href|action|poster)="([^"]*)"', html)
        others = {a for a in addresses if not a.startswith((page_url(token), "/static/", "#"))}
        assert others <= {"/"}, others

    def test_it_serves_the_shared_file_with_range(self, crew: dict[str, AbstractUser]) -> None:
        video = finished(crew["admin"])
        _, token = share(crew["editor"], video)
        response = Client().get(media_url(token, video), HTTP_RANGE="bytes=0-99")
        assert response.status_code == 206
        assert response["Content-Range"] == f"bytes 0-99/{len(mp4_bytes())}"
        assert b"".join(response.streaming_content) == mp4_bytes()[:100]

    def test_another_videos_file_is_a_404_even_with_its_id(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        shared = finished(crew["admin"])
        remix = finished(crew["admin"], "remix", source=shared, operation="remix")
        other = finished(crew["admin"], "other")
        _, token = share(crew["editor"], shared)
        client = Client()
        for video in (remix, other):
            for variant in ("video", "thumbnail", "spritesheet"):
                assert client.get(media_url(token, video, variant)).status_code == 404
        assert client.get(media_url(token, shared, "spritesheet")).status_code == 404
        # Nor through the team's own media address.
        assert client.get(reverse("videos:media", args=[shared.pk, "video"])).status_code == 302

    def test_a_download_only_when_the_link_allows_it(self, crew: dict[str, AbstractUser]) -> None:
        video = finished(crew["admin"])
        _, token = share(crew["editor"], video)
        assert Client().get(media_url(token, video) + "?download=1").status_code == 404
        assert "Download MP4" not in Client().get(page_url(token)).content.decode()
        link2, token2 = share(crew["editor"], video, allow_download=True)
        response = Client().get(media_url(token2, video) + "?download=1")
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
        assert ShareUse.objects.filter(link=link2, kind=ShareUse.Kind.DOWNLOADED).count() == 1

    @pytest.mark.parametrize("end", ["revoke", "expire", "wrong"])
    def test_a_revoked_expired_or_wrong_link_is_the_studios_404(
        self, crew: dict[str, AbstractUser], end: str
    ) -> None:
        video = finished(crew["admin"])
        link, token = share(crew["editor"], video)
        if end == "revoke":
            services.share_revoke(user=crew["editor"], link=link)
        elif end == "expire":
            ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now())
        else:
            token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        client = Client()
        response = client.get(page_url(token))
        assert response.status_code == 404
        assert "Not found" in response.content.decode()
        assert client.get(media_url(token, video)).status_code == 404
        comment = reverse("videos:share_comment", args=[token, video.pk])
        assert client.post(comment, {"name": "A", "body": "hi"}).status_code == 404
        assert not SharedComment.objects.exists()


class TestPassphrase:
    def test_nothing_is_shown_until_the_passphrase_is_given(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"], "the secret kite")
        link, token = share(crew["editor"], video, passphrase="open sesame")
        client = Client()
        html = client.get(page_url(token)).content.decode()
        assert "passphrase" in html and "the secret kite" not in html
        assert client.get(media_url(token, video)).status_code == 404
        unlock = reverse("videos:share_unlock", args=[token])
        assert client.post(unlock, {"passphrase": "wrong"}).status_code == 400
        response = client.post(unlock, {"passphrase": "open sesame"})
        assert response.status_code == 302
        cookie = response.cookies[selectors.unlock_cookie_name(link)]
        assert cookie["path"] == page_url(token) and cookie["httponly"]
        assert "the secret kite" in client.get(page_url(token)).content.decode()
        assert client.get(media_url(token, video), HTTP_RANGE="bytes=0-9").status_code == 206
        kinds = set(ShareUse.objects.filter(link=link).values_list("kind", flat=True))
        assert {"refused", "unlocked", "opened"} <= kinds

    def test_a_link_without_a_passphrase_has_nothing_to_unlock(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        link, token = share(crew["editor"], finished(crew["admin"]))
        response = Client().post(reverse("videos:share_unlock", args=[token]), {"passphrase": "x"})
        assert response.status_code == 302 and response["Location"] == page_url(token)
        assert not ShareUse.objects.filter(link=link).exists()

    def test_one_links_cookie_opens_no_other_link(self, crew: dict[str, AbstractUser]) -> None:
        video = finished(crew["admin"], "the secret kite")
        _, token = share(crew["editor"], video, passphrase="one")
        _, token2 = share(crew["editor"], video, passphrase="two")
        client = Client()
        client.post(reverse("videos:share_unlock", args=[token]), {"passphrase": "one"})
        # A test client sends every cookie whatever its path: the signature still refuses.
        assert "the secret kite" not in client.get(page_url(token2)).content.decode()

    def test_guessing_is_limited_per_link_with_a_clear_message(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"])
        _, token = share(crew["editor"], video, passphrase="open sesame")
        unlock = reverse("videos:share_unlock", args=[token])
        for n in range(services.FAILURES_PER_LINK):
            client = Client(REMOTE_ADDR=f"10.0.0.{n}")
            assert client.post(unlock, {"passphrase": f"guess {n}"}).status_code == 400
        response = Client(REMOTE_ADDR="10.0.1.1").post(unlock, {"passphrase": "open sesame"})
        assert response.status_code == 429
        assert "Too many wrong passphrases: try again in 30 seconds" in response.content.decode()

    def test_guessing_is_limited_per_address_over_links(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"])
        client = Client(REMOTE_ADDR="10.9.9.9")
        tokens = [share(crew["editor"], video, passphrase="x")[1] for _ in range(3)]
        for n in range(services.FAILURES_PER_ADDRESS):
            unlock = reverse("videos:share_unlock", args=[tokens[n % 3]])
            client.post(unlock, {"passphrase": "wrong"})
        fresh = share(crew["editor"], video, passphrase="x")[1]
        response = client.post(reverse("videos:share_unlock", args=[fresh]), {"passphrase": "x"})
        assert response.status_code == 429


class TestGuestComments:
    def test_a_visitor_comments_with_a_name_and_the_owner_is_told(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"])
        link, token = share(crew["editor"], video, label="Client cut")
        url = reverse("videos:share_comment", args=[token, video.pk])
        body = {
            "name": "Ana",
            "email": "ana@example.com",
            "body": "Love the kite",
            "at_seconds": "1",
        }
        response = Client().post(url, body)
        assert response.status_code == 302 and response["Location"].endswith(f"#v-{video.pk}")
        comment = SharedComment.objects.get()
        assert (comment.guest_name, comment.link, comment.at_seconds) == ("Ana", link, 1.0)
        assert not Comment.objects.exists()  # not among the team's comments
        note = Notification.objects.get(user=crew["admin"])
        assert note.kind == Kind.SHARE_COMMENT and note.detail == "Ana"
        visitor = Client().get(page_url(token)).content.decode()
        assert "Love the kite" in visitor and 'data-seek="1.000"' in visitor
        # The team sees it on the video page's share box, marked with its link.
        shares = reverse("videos:video_shares", args=[video.pk])
        html = client_for(crew["viewer"]).get(shares, HTTP_HX_REQUEST="true").content.decode()
        assert "Love the kite" in html and "via share link Client cut" in html
        assert ">0:01.0</a>" in html  # the moment, as the team member reads times
        assert "<html" not in html

    @pytest.mark.parametrize(("role", "status"), [("editor", 302), ("admin", 302),
        ("staff", 302), ("viewer", 403), ("outsider", 404)])  # fmt: skip
    def test_the_videos_editors_delete_a_visitors_comment(
        self, crew: dict[str, AbstractUser], role: str, status: int
    ) -> None:
        video = finished(crew["admin"])
        link, _ = share(crew["editor"], video)
        comment = SharedComment.objects.create(link=link, video=video, guest_name="Spam", body="x")
        url = reverse("videos:shared_comment_delete", args=[video.pk, comment.pk])
        assert client_for(crew[role]).post(url).status_code == status
        assert SharedComment.objects.exists() == (status != 302)

    def test_deleting_by_htmx_gives_the_box_back(self, crew: dict[str, AbstractUser]) -> None:
        video = finished(crew["admin"])
        link, _ = share(crew["editor"], video)
        comment = SharedComment.objects.create(link=link, video=video, guest_name="Spam", body="x")
        url = reverse("videos:shared_comment_delete", args=[video.pk, comment.pk])
        response = client_for(crew["editor"]).post(url, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert response.status_code == 200 and 'id="video-shares"' in html
        assert "<html" not in html and "Spam" not in html

    def test_a_name_is_required(self, crew: dict[str, AbstractUser]) -> None:
        video = finished(crew["admin"])
        _, token = share(crew["editor"], video)
        url = reverse("videos:share_comment", args=[token, video.pk])
        response = Client().post(url, {"name": " ", "body": "hello"})
        assert response.status_code == 400
        assert "Say who you are" in response.content.decode()
        assert not SharedComment.objects.exists()

    def test_no_comments_when_the_link_takes_none(self, crew: dict[str, AbstractUser]) -> None:
        video = finished(crew["admin"])
        _, token = share(crew["editor"], video, allow_comments=False)
        assert "Your name" not in Client().get(page_url(token)).content.decode()
        url = reverse("videos:share_comment", args=[token, video.pk])
        assert Client().post(url, {"name": "A", "body": "hi"}).status_code == 404

    def test_a_comment_on_a_video_not_shared_is_a_404(self, crew: dict[str, AbstractUser]) -> None:
        shared, other = finished(crew["admin"]), finished(crew["admin"], "other")
        _, token = share(crew["editor"], shared)
        url = reverse("videos:share_comment", args=[token, other.pk])
        assert Client().post(url, {"name": "A", "body": "hi"}).status_code == 404

    def test_a_visitor_sees_only_this_links_comments(self, crew: dict[str, AbstractUser]) -> None:
        video = finished(crew["admin"])
        _, token_a = share(crew["editor"], video)
        _, token_b = share(crew["editor"], video)
        Client().post(
            reverse("videos:share_comment", args=[token_a, video.pk]),
            {"name": "Ana", "body": "from link a"},
        )
        assert "from link a" not in Client().get(page_url(token_b)).content.decode()


class TestListingAndRevoking:
    def test_the_video_page_box_lists_links_with_uses_for_editors_only(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"])
        _, token = share(crew["editor"], video, label="For Ana")
        Client(HTTP_USER_AGENT="Mozilla/5.0 TestBrowser").get(page_url(token))
        url = reverse("videos:video_shares", args=[video.pk])
        html = client_for(crew["editor"]).get(url).content.decode()
        assert "For Ana" in html and "1 use" in html and "TestBrowser" in html
        assert "Revoke" in html
        viewer = client_for(crew["viewer"]).get(url).content.decode()
        assert "For Ana" not in viewer
        assert client_for(crew["outsider"]).get(url).status_code == 404

    def test_the_team_page_lists_its_links_for_editors(self, crew: dict[str, AbstractUser]) -> None:
        share(crew["editor"], finished(crew["admin"]), label="For Ana")
        url = reverse("videos:team_shares", args=["crew"])
        for role in ("admin", "editor", "staff"):
            response = client_for(crew[role]).get(url)
            assert response.status_code == 200 and "For Ana" in response.content.decode()
        assert client_for(crew["viewer"]).get(url).status_code == 403
        assert client_for(crew["outsider"]).get(url).status_code == 404
        assert Client().get(url).status_code == 302

    @pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("editor", True),
        ("staff", True), ("viewer", False), ("outsider", False)])  # fmt: skip
    def test_who_may_revoke(self, crew: dict[str, AbstractUser], role: str, allowed: bool) -> None:
        link, token = share(crew["editor"], finished(crew["admin"]))
        url = reverse("videos:share_revoke", args=[link.pk])
        response = client_for(crew[role]).post(url, {"next": "/teams/crew/shares/"})
        assert response.status_code == (302 if allowed else 404)
        link.refresh_from_db()
        assert (link.revoked_at is not None) == allowed
        assert Client().get(page_url(token)).status_code == (404 if allowed else 200)

    def test_the_video_page_loads_the_share_box_and_the_team_page_links_its_list(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"])
        box = reverse("videos:video_shares", args=[video.pk])
        assert box in client_for(crew["viewer"]).get(video.get_absolute_url()).content.decode()
        team = reverse("videos:team", args=["crew"])
        shares = reverse("videos:team_shares", args=["crew"])
        assert shares in client_for(crew["editor"]).get(team).content.decode()
        assert shares not in client_for(crew["viewer"]).get(team).content.decode()

    def test_staff_read_and_revoke_links_in_the_admin(self, crew: dict[str, AbstractUser]) -> None:
        link, token = share(crew["editor"], finished(crew["admin"]), label="For Ana")
        Client().get(page_url(token))
        admin = client_for(crew["staff"])
        crew["staff"].is_superuser = True
        crew["staff"].save()
        listing = admin.get(reverse("admin:videos_app_sharelink_changelist"))
        assert listing.status_code == 200 and "For Ana" in listing.content.decode()
        page = admin.get(reverse("admin:videos_app_sharelink_change", args=[link.pk]))
        assert page.status_code == 200 and link.token_hash not in page.content.decode()
        admin.post(
            reverse("admin:videos_app_sharelink_changelist"),
            {"action": "revoke", "_selected_action": [link.pk]},
        )
        assert Client().get(page_url(token)).status_code == 404

    def test_the_team_side_needs_an_account_and_revoking_a_post(
        self, crew: dict[str, AbstractUser]
    ) -> None:
        video = finished(crew["admin"])
        link, _ = share(crew["editor"], video)
        revoke = reverse("videos:share_revoke", args=[link.pk])
        for url in (reverse("videos:video_shares", args=[video.pk]), revoke):
            assert "/login" in Client().get(url)["Location"]
        assert "/login" in Client().post(revoke)["Location"]
        assert client_for(crew["editor"]).get(revoke).status_code == 405
        link.refresh_from_db()
        assert link.revoked_at is None

    def test_revoke_does_not_redirect_off_site(self, crew: dict[str, AbstractUser]) -> None:
        link, _ = share(crew["editor"], finished(crew["admin"]))
        url = reverse("videos:share_revoke", args=[link.pk])
        response = client_for(crew["editor"]).post(url, {"next": "https://evil.example/"})
        assert response["Location"] == reverse("videos:gallery")
