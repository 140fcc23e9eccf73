"""Who sees and does what, across teams and roles, on every page, fragment, media URL,
poll and /v1 endpoint (the rules: videos_app/permissions.py).

One world per test: a team "Crew" with an owner (editor), an admin, an editor and a
viewer; a member of another team; a user in no team; and staff in no team. The owner's
finished video is in Crew; a second one is private. Outsiders get 404 everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.api_helpers import assert_error, completed_video, make_key
from tests.factories import make_team, make_user, make_video, mp4_bytes, team_select
from videos_app import permissions, polling, services
from videos_app.characters import services as character_services
from videos_app.models import Character, Team, Video

ROLES = ["staff", "owner", "admin", "editor", "viewer", "other_team", "no_team"]
SEES = {"staff", "owner", "admin", "editor", "viewer"}  # the team video
SEES_PRIVATE = {"staff", "owner"}
DELETES = {"staff", "owner", "admin"}
CREATES = {"staff", "owner", "admin", "editor"}  # may remix, extend and edit team videos


@dataclass
class World:
    team: Team
    users: dict[str, User]
    video: Video
    private: Video

    def client(self, role: str) -> Client:
        client = Client()
        client.force_login(self.users[role])
        return client

    def api(self, role: str) -> Client:
        return Client(**make_key(self.users[role]).headers)


@pytest.fixture
def world(db: None) -> World:
    users: dict[str, User] = {
        role: make_user(role, is_staff=role == "staff")  # type: ignore[misc]
        for role in ROLES
    }
    team = make_team(
        "Crew",
        members={
            users["owner"]: "editor",
            users["admin"]: "admin",
            users["editor"]: "editor",
            users["viewer"]: "viewer",
        },
    )
    make_team("Elsewhere", members={users["other_team"]: "admin"})
    video = completed_video(users["owner"], team=team)
    private = completed_video(
        users["owner"], team=team, visibility=Video.Visibility.PRIVATE, prompt="a secret"
    )
    return World(team=team, users=users, video=video, private=private)


def expected(role: str, allowed: set[str], ok: int) -> int:
    """ok for an allowed role; 403 for one who sees the video but may not; else 404."""
    if role in allowed:
        return ok
    return 403 if role in SEES else 404


# --- reading -------------------------------------------------------------------------

READ_PAGES = [
    ("videos:detail", ()),
    ("videos:status", ()),
    ("videos:media", ("video",)),
    ("videos:media", ("thumbnail",)),
    ("videos:media", ("spritesheet",)),
    ("videos:comments", ()),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "extra"), READ_PAGES)
def test_pages_fragments_and_media_answer_404_to_those_who_cannot_see(
    world: World, role: str, name: str, extra: tuple[str, ...]
) -> None:
    client = world.client(role)
    for video, seers in ((world.video, SEES), (world.private, SEES_PRIVATE)):
        # As htmx asks (the comments fragment answers a plain GET with a redirect).
        response = client.get(
            reverse(name, args=[video.pk, *extra]), headers={"HX-Request": "true"}
        )
        want = 200 if role in seers else 404
        # A finished job's status poll answers 286 (stop polling) with the stage.
        got = 200 if response.status_code == 286 else response.status_code
        assert got == want, (role, name, extra, video.visibility)


@pytest.mark.parametrize("role", ROLES)
def test_the_gallery_and_its_poll_list_only_visible_videos(world: World, role: str) -> None:
    running = make_video(world.users["owner"], team=world.team, status=Video.Status.IN_PROGRESS)
    client = world.client(role)
    body = client.get(reverse("videos:gallery")).content.decode()
    assert (world.video.prompt in body) == (role in SEES)
    assert ("a secret" in body) == (role in SEES_PRIVATE)
    poll = client.get(reverse("videos:gallery_progress") + f"?ids={running.pk},{world.private.pk}")
    assert (f"card-{running.pk}" in poll.content.decode()) == (role in SEES)


@pytest.mark.parametrize("role", ROLES)
def test_a_poll_token_is_issued_only_to_those_who_see(world: World, role: str) -> None:
    running = make_video(world.users["owner"], team=world.team, status=Video.Status.IN_PROGRESS)
    user = world.users[role]
    token = polling.poll_token_for(user, running)
    assert bool(token) == (role in SEES)
    page = world.client(role).get(running.get_absolute_url())
    assert page.status_code == (200 if role in SEES else 404)
    if role in SEES:
        # The page carries its own token (signed when it rendered, maybe a second later).
        issued = re.search(r"[?&](?:amp;)?t=([^&\"]+)", page.content.decode())
        assert issued and polling.poll_token_valid(unquote(issued[1]), running.pk)
    else:
        # Polling without a token falls back to the session: 404, and no token in it.
        poll = world.client(role).get(reverse("videos:status", args=[running.pk]))
        assert poll.status_code == 404
        body = poll.content.decode()
        assert "?t=" not in body and "&t=" not in body and "&amp;t=" not in body


# --- writing -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_delete_page_and_post(world: World, role: str) -> None:
    client = world.client(role)
    url = reverse("videos:delete", args=[world.video.pk])
    assert client.get(url).status_code == expected(role, DELETES, 200)
    assert client.post(url).status_code == expected(role, DELETES, 302)
    assert Video.objects.filter(pk=world.video.pk).exists() == (role not in DELETES)


@pytest.mark.parametrize("role", sorted(SEES))
def test_the_detail_page_hides_actions_the_user_may_not_take(world: World, role: str) -> None:
    body = world.client(role).get(world.video.get_absolute_url()).content.decode()
    assert (reverse("videos:delete", args=[world.video.pk]) in body) == (role in DELETES)
    for tool in ("remix", "extend", "edit"):
        assert (reverse(f"videos:{tool}", args=[world.video.pk]) in body) == (role in CREATES)
    assert "Crew" in body


TOOLS = [
    ("remix", {"remix-prompt": "now at night"}),
    ("extend", {"extend-prompt": "it keeps going", "extend-seconds": "4"}),
    ("edit", {"edit-prompt": "black and white"}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("tool", "data"), TOOLS, ids=[t[0] for t in TOOLS])
def test_remix_extend_and_edit_pages(
    world: World, role: str, tool: str, data: dict[str, str]
) -> None:
    response = world.client(role).post(reverse(f"videos:{tool}", args=[world.video.pk]), data)
    assert response.status_code == expected(role, CREATES, 302), response.content[:300]
    derived = Video.objects.filter(source=world.video)
    assert derived.exists() == (role in CREATES)
    if role in CREATES:
        # The new video stays in the source's team.
        assert derived.get().team == world.team


@pytest.mark.parametrize("role", ROLES)
def test_favorite_and_review_fragments(world: World, role: str) -> None:
    client = world.client(role)
    favorite = client.post(reverse("videos:favorite", args=[world.video.pk]))
    assert (favorite.status_code == 404) == (role not in SEES)
    review = client.post(reverse("videos:review", args=[world.video.pk]), {"state": "approved"})
    if role not in SEES:
        assert review.status_code == 404
    elif role == "viewer":
        assert review.status_code == 403


def test_the_owner_of_a_video_in_a_team_they_may_no_longer_create_in_gets_a_video_of_their_own(
    world: World,
) -> None:
    owner = world.users["owner"]
    world.team.memberships.filter(user=owner).update(role="viewer")
    permissions.forget_roles(owner)
    remix = services.video_remix(owner=owner, source=world.video, prompt="again")  # type: ignore[arg-type]
    assert remix.team is None


# --- creating ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_create_form_offers_only_teams_the_user_may_create_in(world: World, role: str) -> None:
    client = world.client(role)
    html = client.get(reverse("videos:new")).content.decode()
    offered = '<select name="team"' in html and f'<option value="{world.team.pk}"' in team_select(
        html
    )
    assert offered == (role in CREATES)
    response = client.post(
        reverse("videos:new"),
        {
            "prompt": "a team video",
            "model": "sora-2",
            "size": "720x1280",
            "seconds": "4",
            "team": str(world.team.pk),
        },
    )
    if role in CREATES:
        assert response.status_code == 302
        assert Video.objects.get(prompt="a team video").team == world.team
    else:
        assert response.status_code == 400
        assert "You cannot create in that team" in response.content.decode()
        assert not Video.objects.filter(prompt="a team video").exists()


def test_the_create_form_defaults_to_the_first_team_and_can_be_private(world: World) -> None:
    client = world.client("editor")
    form = team_select(client.get(reverse("videos:new")).content.decode())
    assert f'<option value="{world.team.pk}" selected>' in form
    data = {"prompt": "mine alone", "model": "sora-2", "size": "720x1280", "seconds": "4"}
    assert client.post(reverse("videos:new"), {**data, "team": ""}).status_code == 302
    assert Video.objects.get(prompt="mine alone").team is None
    data["prompt"] = "hidden"
    client.post(reverse("videos:new"), {**data, "team": world.team.pk, "private": "on"})
    hidden = Video.objects.get(prompt="hidden")
    assert (hidden.team, hidden.visibility) == (world.team, Video.Visibility.PRIVATE)
    assert world.client("admin").get(hidden.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_api_create_in_a_team(world: World, role: str) -> None:
    api = world.api(role)
    response = api.post(
        "/v1/videos",
        {"prompt": "via the api", "team": world.team.slug},
        content_type="application/json",
    )
    if role in CREATES:
        assert response.status_code == 200, response.content
        assert Video.objects.get(pk=response.json()["id"]).team == world.team
    elif role in SEES:
        assert_error(response, 403, code="permission_denied", param="team")
    else:
        assert_error(response, 404, code="not_found", param="team")
    assert Video.objects.filter(prompt="via the api").exists() == (role in CREATES)


def test_api_create_defaults_to_the_default_team_and_takes_no_team(world: World) -> None:
    api = world.api("editor")
    default = api.post("/v1/videos", {"prompt": "p1"}, content_type="application/json").json()
    assert Video.objects.get(pk=default["id"]).team == world.team
    mine = api.post("/v1/videos", {"prompt": "p2", "team": ""}, content_type="application/json")
    assert Video.objects.get(pk=mine.json()["id"]).team is None
    # A viewer's default team is none (they cannot create in theirs).
    viewer = world.api("viewer").post(
        "/v1/videos", {"prompt": "p3"}, content_type="application/json"
    )
    assert Video.objects.get(pk=viewer.json()["id"]).team is None


# --- /v1 ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_api_retrieve_content_and_list(world: World, role: str) -> None:
    api = world.api(role)
    for video, seers in ((world.video, SEES), (world.private, SEES_PRIVATE)):
        retrieve = api.get(f"/v1/videos/{video.pk}")
        content = api.get(f"/v1/videos/{video.pk}/content?variant=thumbnail")
        if role in seers:
            assert retrieve.status_code == content.status_code == 200
        else:
            assert_error(retrieve, 404, code="not_found")
            assert_error(content, 404, code="not_found")
    listed = {row["id"] for row in api.get("/v1/videos?limit=100").json()["data"]}
    assert (world.video.pk in listed) == (role in SEES)
    assert (world.private.pk in listed) == (role in SEES_PRIVATE)


@pytest.mark.parametrize("role", ROLES)
def test_api_delete(world: World, role: str) -> None:
    response = world.api(role).delete(f"/v1/videos/{world.video.pk}")
    if role in DELETES:
        assert response.status_code == 200
    elif role in SEES:
        assert_error(response, 403, code="permission_denied")
    else:
        assert_error(response, 404, code="not_found")
    assert Video.objects.filter(pk=world.video.pk).exists() == (role not in DELETES)


API_TOOLS: list[tuple[str, Any]] = [
    ("remix", lambda v: (f"/v1/videos/{v.pk}/remix", {"prompt": "now at night"})),
    ("edits", lambda v: ("/v1/videos/edits", {"prompt": "mirror", "video": {"id": v.pk}})),
    (
        "extensions",
        lambda v: (
            "/v1/videos/extensions",
            {"prompt": "more", "seconds": "4", "video": {"id": v.pk}},
        ),
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("tool", "build"), API_TOOLS, ids=[t[0] for t in API_TOOLS])
def test_api_remix_edits_and_extensions(world: World, role: str, tool: str, build: Any) -> None:
    url, body = build(world.video)
    response = world.api(role).post(url, body, content_type="application/json")
    if role in CREATES:
        assert response.status_code == 200, response.content
        assert Video.objects.get(pk=response.json()["id"]).team == world.team
    elif role in SEES:
        assert_error(response, 403, code="permission_denied")
    else:
        assert_error(response, 404, code="not_found")
    assert Video.objects.filter(source=world.video).exists() == (role in CREATES)


@pytest.mark.parametrize("role", ROLES)
def test_characters_follow_their_team(world: World, role: str) -> None:
    from django.core.files.base import ContentFile

    character = character_services.character_create(
        owner=world.users["owner"],  # type: ignore[arg-type]
        name="Pip",
        clip=ContentFile(mp4_bytes(2.0), name="clip.mp4"),
        team=world.team,
    )
    api = world.api(role)
    client = world.client(role)
    response = api.get(f"/v1/videos/characters/{character.pk}")
    page = client.get(reverse("videos:character", args=[character.pk]))
    poster = client.get(reverse("videos:character_media", args=[character.pk, "poster"]))
    if role in SEES:
        assert response.status_code == page.status_code == poster.status_code == 200
    else:
        assert_error(response, 404, code="not_found")
        assert page.status_code == poster.status_code == 404
    delete = client.post(reverse("videos:character_delete", args=[character.pk]))
    assert delete.status_code == expected(role, DELETES, 302)
    assert Character.objects.filter(pk=character.pk).exists() == (role not in DELETES)


def test_a_viewer_cannot_create_a_character_in_the_team(world: World) -> None:
    from django.core.exceptions import PermissionDenied
    from django.core.files.base import ContentFile

    with pytest.raises(PermissionDenied):
        character_services.character_create(
            owner=world.users["viewer"],  # type: ignore[arg-type]
            name="Nope",
            clip=ContentFile(mp4_bytes(2.0), name="clip.mp4"),
            team=world.team,
        )
    assert not Character.objects.exists()


def test_api_create_can_keep_a_video_private_and_checks_the_flag(world: World) -> None:
    api = world.api("editor")
    body = {"prompt": "for my eyes", "team": world.team.slug, "private": True}
    created = api.post("/v1/videos", body, content_type="application/json").json()
    video = Video.objects.get(pk=created["id"])
    assert (video.team, video.visibility) == (world.team, Video.Visibility.PRIVATE)
    assert_error(world.api("admin").get(f"/v1/videos/{video.pk}"), 404)
    # Multipart sends the flag as a string, as the SDK's extra_body does.
    multipart = api.post("/v1/videos", {"prompt": "form", "private": "true"})
    assert Video.objects.get(pk=multipart.json()["id"]).visibility == Video.Visibility.PRIVATE
    bad = api.post("/v1/videos", {"prompt": "x", "private": 3}, content_type="application/json")
    assert_error(bad, 400, code="invalid_type", param="private")
    assert not Video.objects.filter(prompt="x").exists()


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_the_character_form_offers_only_teams_the_user_may_create_in(
    world: World, role: str
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    clip = SimpleUploadedFile("pip.mp4", mp4_bytes(2.0), content_type="video/mp4")
    response = world.client(role).post(
        reverse("videos:characters"), {"name": "Pip", "video": clip, "team": world.team.pk}
    )
    if role == "editor":
        assert response.status_code == 302
        assert Character.objects.get(name="Pip").team == world.team
        # The team sees and uses it.
        assert world.client("viewer").get(reverse("videos:new")).content.decode().count("Pip")
    else:
        assert response.status_code == 400
        assert "You cannot create in that team" in response.content.decode()
        assert not Character.objects.exists()


def test_api_uploads_and_characters_go_to_the_default_team(world: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    def clip() -> SimpleUploadedFile:
        return SimpleUploadedFile("upload", mp4_bytes(2.0), "application/octet-stream")

    editor, viewer = world.api("editor"), world.api("viewer")
    edit = editor.post("/v1/videos/edits", {"prompt": "mirror", "video": clip()})
    assert Video.objects.get(pk=edit.json()["id"]).team == world.team
    extend = viewer.post("/v1/videos/extensions", {"prompt": "on", "seconds": "4", "video": clip()})
    assert Video.objects.get(pk=extend.json()["id"]).team is None  # a viewer has no default
    character = editor.post("/v1/videos/characters", {"name": "Pip", "video": clip()})
    assert Character.objects.get(pk=character.json()["id"]).team == world.team
    # Its team sees it; another team does not.
    assert (
        world.api("viewer").get(f"/v1/videos/characters/{character.json()['id']}").status_code
        == 200
    )
    other = world.api("other_team").get(f"/v1/videos/characters/{character.json()['id']}")
    assert_error(other, 404, code="not_found")
