"""Reusing: "Use these settings" (with the reference image copied) and team presets."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from tests.factories import client_for, image_bytes, make_user, make_video
from videos_app.models import Character, Membership, PromptPreset, Team, Video

pytestmark = pytest.mark.django_db
NEW = reverse("videos:new")
PRESETS = reverse("videos:presets")


def team_of(slug: str, **members: tuple[AbstractUser, str]) -> Team:
    team = Team.objects.create(name=slug.title(), slug=slug)
    for user, role in members.values():
        Membership.objects.create(team=team, user=user, role=role)
    return team


@pytest.fixture
def crew() -> dict[str, Any]:
    people = {name: make_user(name) for name in ("ada", "bo", "cy", "out")}
    team = team_of(
        "crew",
        a=(people["ada"], "admin"),
        b=(people["bo"], "editor"),
        c=(people["cy"], "viewer"),
    )
    return {**people, "team": team}


def source_video(owner: AbstractUser, team: Team | None, **kwargs: Any) -> Video:
    video = make_video(
        owner,
        team=team,
        prompt="a zeppelin over quiet hills",
        model="sora-2-pro",
        size="1280x720",
        seconds=8,
        status=Video.Status.COMPLETED,
        **kwargs,
    )
    video.reference_image.save(
        f"videos/{video.pk}/reference.png", ContentFile(image_bytes(1280, 720, color=(10, 200, 30)))
    )
    return video


def create(client: Client, **data: Any) -> Any:
    body = {"prompt": "again", "model": "sora-2-pro", "size": "1280x720", "seconds": "8"}
    body.update(data)
    return client.post(NEW, body)


def selected(html: str, name: str) -> list[str]:
    """Values of the selected options / checked boxes of a field named ``name``."""
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    if select:
        return re.findall(r'<option value="([^"]*)"[^>]*selected', select.group(0))
    return re.findall(rf'<input[^>]*name="{name}" value="([^"]*)"[^>]*checked', html)


# --- "Use these settings" -------------------------------------------------------------------


def test_the_detail_page_links_use_these_settings_and_save_as_preset(crew: dict[str, Any]) -> None:
    video = source_video(crew["bo"], crew["team"])
    page = client_for(crew["bo"]).get(video.get_absolute_url()).content.decode()
    assert f'href="{NEW}?from={video.pk}"' in page
    assert f'href="{PRESETS}?from={video.pk}"' in page


def test_use_these_settings_fills_the_form_with_the_videos_settings(crew: dict[str, Any]) -> None:
    owner = crew["bo"]
    character = Character.objects.create(
        owner=owner, name="Pip", clip="characters/x/clip.mp4", team=crew["team"]
    )
    hidden = Character.objects.create(owner=owner, name="Own", clip="characters/y/clip.mp4")
    video = source_video(owner, crew["team"])
    video.characters.set([character, hidden])
    response = client_for(crew["ada"]).get(f"{NEW}?from={video.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "a zeppelin over quiet hills</textarea>" in html
    assert selected(html, "model") == ["sora-2-pro"]
    assert selected(html, "size") == ["1280x720"]
    assert selected(html, "seconds") == ["8"]
    assert selected(html, "characters") == [character.pk]  # not bo's own, invisible to ada
    assert selected(html, "team") == [str(crew["team"].pk)]
    # The reference is carried: a hidden field, a preview, and a box to drop it.
    assert f'<input type="hidden" name="reference_from" value="{video.pk}">' in html
    assert reverse("videos:reference", args=[video.pk]) in html
    assert 'name="keep_reference" value="1" checked' in html


def test_the_carried_reference_is_copied_into_the_new_video(crew: dict[str, Any]) -> None:
    video = source_video(crew["bo"], crew["team"])
    response = create(client_for(crew["ada"]), reference_from=video.pk, keep_reference="1")
    assert response.status_code == 302, response.content.decode()[:2000]
    new = Video.objects.exclude(pk=video.pk).get()
    assert new.reference_image.name == f"videos/{new.pk}/reference.png"
    with new.reference_image.open("rb") as a, video.reference_image.open("rb") as b:
        assert Image.open(io.BytesIO(a.read())).tobytes() == Image.open(b).tobytes()
    assert video.reference_image.storage.exists(video.reference_image.name)  # a copy


def test_a_carried_reference_is_cropped_to_a_new_size(crew: dict[str, Any]) -> None:
    video = source_video(crew["bo"], crew["team"])
    response = create(
        client_for(crew["bo"]), size="720x1280", reference_from=video.pk, keep_reference="1"
    )
    assert response.status_code == 302
    new = Video.objects.exclude(pk=video.pk).get()
    with Image.open(new.reference_image.path) as img:
        assert img.size == (720, 1280)


def test_unticking_keep_reference_drops_it(crew: dict[str, Any]) -> None:
    video = source_video(crew["bo"], crew["team"])
    assert create(client_for(crew["bo"]), reference_from=video.pk).status_code == 302
    assert not Video.objects.exclude(pk=video.pk).get().reference_image


def test_an_uploaded_image_wins_over_the_carried_one(crew: dict[str, Any]) -> None:
    video = source_video(crew["bo"], crew["team"])
    upload = ContentFile(image_bytes(1280, 720, color=(250, 0, 0)), name="mine.png")
    response = create(
        client_for(crew["bo"]), reference_from=video.pk, keep_reference="1", reference_image=upload
    )
    assert response.status_code == 302
    new = Video.objects.exclude(pk=video.pk).get()
    with Image.open(new.reference_image.path) as img:
        assert img.getpixel((0, 0)) == (250, 0, 0)


def test_a_source_the_user_cannot_see_is_ignored_with_a_message_and_never_leaks(
    crew: dict[str, Any],
) -> None:
    private = source_video(crew["bo"], crew["team"], visibility=Video.Visibility.PRIVATE)
    for video_id in (private.pk, "video_unknown"):
        response = client_for(crew["ada"]).get(f"{NEW}?from={video_id}", follow=True)
        html = response.content.decode()
        assert response.status_code == 200
        assert "That video is not available to start from." in html
        assert "zeppelin" not in html
        assert 'name="reference_from"' not in html


def test_posting_a_reference_from_an_invisible_video_stores_nothing(
    crew: dict[str, Any],
) -> None:
    theirs = source_video(crew["out"], None)
    response = create(client_for(crew["ada"]), reference_from=theirs.pk, keep_reference="1")
    assert response.status_code == 400
    assert "That video is not available to start from." in response.content.decode()
    assert Video.objects.count() == 1


def test_the_reference_image_is_served_only_to_those_who_see_the_video(
    crew: dict[str, Any],
) -> None:
    video = source_video(crew["bo"], crew["team"])
    url = reverse("videos:reference", args=[video.pk])
    ok = client_for(crew["cy"]).get(url)
    assert ok.status_code == 200 and ok["Content-Type"] == "image/png"
    assert client_for(crew["out"]).get(url).status_code == 404


# --- Presets -------------------------------------------------------------------------------


def preset_data(team: Team, **overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Rainy city",
        "team": str(team.pk),
        "prompt": "neon reflections on wet asphalt",
        "model": "sora-2",
        "size": "1280x720",
        "seconds": "8",
    }
    data.update(overrides)
    return data


def make_preset(team: Team, **kwargs: Any) -> PromptPreset:
    kwargs.setdefault("name", "Dawn")
    kwargs.setdefault("prompt", "first light over a harbour")
    return PromptPreset.objects.create(team=team, **kwargs)


def test_an_editor_saves_a_preset(crew: dict[str, Any]) -> None:
    response = client_for(crew["bo"]).post(PRESETS, preset_data(crew["team"]))
    assert response.status_code == 302
    preset = PromptPreset.objects.get()
    assert (preset.name, preset.team, preset.size, preset.seconds, preset.created_by) == (
        "Rainy city",
        crew["team"],
        "1280x720",
        8,
        crew["bo"],
    )


def test_a_viewer_cannot_save_a_preset_but_can_use_one(crew: dict[str, Any]) -> None:
    viewer = client_for(crew["cy"])
    response = viewer.post(PRESETS, preset_data(crew["team"]))
    assert response.status_code == 400
    assert not PromptPreset.objects.exists()
    preset = make_preset(crew["team"], size="1280x720", seconds=12)
    page = viewer.get(PRESETS).content.decode()
    assert f"{NEW}?preset={preset.pk}" in page
    assert reverse("videos:preset_edit", args=[preset.pk]) not in page
    html = viewer.get(f"{NEW}?preset={preset.pk}").content.decode()
    assert "first light over a harbour</textarea>" in html
    assert selected(html, "size") == ["1280x720"] and selected(html, "seconds") == ["12"]
    # The picker on the create form offers it (a plain GET form: works without JS).
    assert f'<option value="{preset.pk}" selected>' in html


def test_a_viewer_cannot_edit_or_delete_a_preset_and_an_outsider_gets_404(
    crew: dict[str, Any],
) -> None:
    preset = make_preset(crew["team"])
    edit = reverse("videos:preset_edit", args=[preset.pk])
    delete = reverse("videos:preset_delete", args=[preset.pk])
    assert client_for(crew["cy"]).post(edit, preset_data(crew["team"])).status_code == 403
    assert client_for(crew["cy"]).post(delete).status_code == 403
    assert client_for(crew["cy"]).get(delete).status_code == 403
    assert client_for(crew["out"]).get(edit).status_code == 404
    assert client_for(crew["out"]).post(delete).status_code == 404
    assert PromptPreset.objects.get().name == "Dawn"


def test_an_outsiders_preset_is_not_offered_and_not_prefilled(crew: dict[str, Any]) -> None:
    other = team_of("other", o=(crew["out"], "admin"))
    preset = make_preset(other, prompt="secret plans")
    html = client_for(crew["ada"]).get(f"{NEW}?preset={preset.pk}", follow=True).content.decode()
    assert "That preset is not available." in html
    assert "secret plans" not in html
    assert "secret plans" not in client_for(crew["ada"]).get(PRESETS).content.decode()


def test_an_editor_changes_and_deletes_a_preset(crew: dict[str, Any]) -> None:
    preset = make_preset(crew["team"])
    editor = client_for(crew["bo"])
    edit = reverse("videos:preset_edit", args=[preset.pk])
    assert editor.get(edit).status_code == 200
    response = editor.post(edit, preset_data(crew["team"], name="Dusk", seconds="4"))
    assert response.status_code == 302
    preset.refresh_from_db()
    assert (preset.name, preset.seconds) == ("Dusk", 4)
    delete = reverse("videos:preset_delete", args=[preset.pk])
    confirm = editor.get(delete)
    assert confirm.status_code == 200 and "Delete the preset" in confirm.content.decode()
    assert PromptPreset.objects.exists()  # asking deletes nothing
    assert editor.post(delete).status_code == 302
    assert not PromptPreset.objects.exists()


def test_a_duplicate_name_in_the_team_is_a_form_error(crew: dict[str, Any]) -> None:
    make_preset(crew["team"], name="Rainy city")
    response = client_for(crew["bo"]).post(PRESETS, preset_data(crew["team"]))
    assert response.status_code == 400
    assert "already has a preset named" in response.content.decode()
    assert PromptPreset.objects.count() == 1


def test_bad_preset_input_is_refused_and_stores_nothing(crew: dict[str, Any]) -> None:
    client = client_for(crew["bo"])
    for bad in ({"size": "9x9"}, {"model": "nope"}, {"seconds": "7"}, {"name": ""}):
        assert client.post(PRESETS, preset_data(crew["team"], **bad)).status_code == 400
    assert not PromptPreset.objects.exists()


def test_save_as_preset_from_a_video_fills_the_preset_form(crew: dict[str, Any]) -> None:
    video = source_video(crew["bo"], crew["team"])
    html = client_for(crew["bo"]).get(f"{PRESETS}?from={video.pk}").content.decode()
    assert "a zeppelin over quiet hills</textarea>" in html
    assert selected(html, "size") == ["1280x720"]
    assert selected(html, "model") == ["sora-2-pro"]


def test_save_as_preset_on_the_create_form_carries_its_fields_and_saves_nothing(
    crew: dict[str, Any],
) -> None:
    editor = client_for(crew["bo"])
    page = editor.get(NEW).content.decode()
    assert f'name="from_create" value="1" formaction="{PRESETS}"' in page
    response = editor.post(
        PRESETS,
        {
            "from_create": "1",
            "prompt": "a kite over dunes",
            "model": "sora-2",
            "size": "1280x720",
            "seconds": "12",
            "team": str(crew["team"].pk),
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "a kite over dunes</textarea>" in html
    assert selected(html, "size") == ["1280x720"] and selected(html, "seconds") == ["12"]
    assert 'class="error"' not in html  # not an attempt to save: no errors yet
    assert not PromptPreset.objects.exists()
    # A viewer (who cannot save presets) is not offered the button.
    assert 'name="from_create"' not in client_for(crew["cy"]).get(NEW).content.decode()
