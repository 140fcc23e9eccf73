"""The create form: Fit on by default, the chosen image kept across a form error, and one
"Who can see it" menu for the team and the visibility."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from tests.api_helpers import api_fixture, api_key_fixture  # noqa: F401  (fixtures)
from tests.conftest import stored_files
from tests.factories import (
    client_for,
    image_bytes,
    make_team,
    make_user,
    make_video,
    team_select,
)
from videos_app import images, tasks
from videos_app.api import openapi
from videos_app.models import PromptPreset, Team, Video

pytestmark = pytest.mark.django_db
NEW = reverse("videos:new")
RED = (250, 10, 10)


def create(client: Client, **data: Any) -> Any:
    body: dict[str, Any] = {
        "prompt": "a lighthouse in fog",
        "model": "sora-2",
        "size": "720x1280",
        "seconds": "4",
        "team": "",
    }
    body.update(data)
    return client.post(NEW, body)


def photo(width: int = 640, height: int = 480) -> ContentFile[bytes]:
    return ContentFile(image_bytes(width, height, "JPEG", color=RED), name="photo.jpg")


def kept_token(html: str) -> str:
    match = re.search(r'<input type="hidden" name="reference_kept" value="([^"]+)">', html)
    assert match, "no kept image on the page"
    return match.group(1)


def kept_files() -> list[str]:
    return [name for name in stored_files() if name.startswith(f"{images.KEPT_FOLDER}/")]


# --- Fit ------------------------------------------------------------------------------


def test_fit_image_is_ticked_on_a_new_form(client_in: Client) -> None:
    html = client_in.get(NEW).content.decode()
    assert re.search(r'<input type="checkbox" name="fit_image"[^>]*checked', html)


def test_the_api_fits_an_image_of_another_size_only_when_asked(api: Client) -> None:
    def post(**extra: str) -> Any:
        upload = SimpleUploadedFile("frame.jpg", image_bytes(640, 480, "JPEG"))
        body = {"prompt": "p", "size": "720x1280", "input_reference": upload, **extra}
        return api.post("/v1/videos", body)

    strict = post()
    assert strict.status_code == 400
    assert "input_reference_fit" in strict.json()["error"]["message"]
    fitted = post(input_reference_fit="true")
    assert fitted.status_code == 200
    with Video.objects.get(pk=fitted.json()["id"]).reference_image.open("rb") as fh:
        assert Image.open(fh).size == (720, 1280)


def test_the_openapi_document_describes_the_fit_extension() -> None:
    schemas = openapi.document(models=["sora-2"])["components"]["schemas"]
    described = schemas["CreateVideoRequest"]["properties"]["input_reference_fit"]
    assert described["type"] == "boolean"
    assert "studio extension" in described["description"]


# --- The chosen image, kept across a form error ---------------------------------------


def test_a_valid_image_is_kept_when_another_field_is_refused(client_in: Client) -> None:
    refused = create(client_in, prompt="", reference_image=photo(), fit_image="on")
    assert refused.status_code == 400
    html = refused.content.decode()
    token = kept_token(html)
    assert 'src="data:image/jpeg;base64,' in html  # its preview, no upload needed
    assert 'data-width="640" data-height="480"' in html
    assert 'name="keep_reference" value="1" checked' in html
    assert len(kept_files()) == 1

    done = create(client_in, reference_kept=token, keep_reference="1", fit_image="on")
    assert done.status_code == 302
    video = Video.objects.get()
    with Image.open(video.reference_image.path) as img:
        assert img.size == (720, 1280)
        assert img.getpixel((360, 640))[0] > 240  # the red photo, fitted
    assert kept_files() == []  # the create used it up


def test_the_kept_image_is_cropped_anew_when_the_size_changes(client_in: Client) -> None:
    refused = create(client_in, prompt="", reference_image=photo(), fit_image="on")
    token = kept_token(refused.content.decode())
    done = create(
        client_in, size="1280x720", reference_kept=token, keep_reference="1", fit_image="on"
    )
    assert done.status_code == 302
    with Image.open(Video.objects.get().reference_image.path) as img:
        assert img.size == (1280, 720)


def test_a_kept_image_stays_kept_through_a_second_error(client_in: Client) -> None:
    token = kept_token(
        create(client_in, prompt="", reference_image=photo(), fit_image="on").content.decode()
    )
    again = create(client_in, prompt="", reference_kept=token, keep_reference="1", fit_image="on")
    assert again.status_code == 400
    assert kept_token(again.content.decode()) == token
    assert len(kept_files()) == 1


def test_unticking_the_kept_image_drops_it(client_in: Client) -> None:
    refused = create(client_in, prompt="", reference_image=photo(), fit_image="on")
    token = kept_token(refused.content.decode())
    assert create(client_in, reference_kept=token, fit_image="on").status_code == 302
    assert not Video.objects.get().reference_image
    assert kept_files() == []


def test_a_new_file_replaces_the_kept_one(client_in: Client) -> None:
    first = kept_token(
        create(client_in, prompt="", reference_image=photo(), fit_image="on").content.decode()
    )
    again = create(
        client_in,
        prompt="",
        reference_kept=first,
        keep_reference="1",
        reference_image=photo(720, 1280),
        fit_image="on",
    )
    second = kept_token(again.content.decode())
    assert second != first
    assert len(kept_files()) == 1  # the first one is gone
    assert 'data-width="720" data-height="1280"' in again.content.decode()


def test_only_the_user_who_chose_the_image_can_use_it(client_in: Client) -> None:
    token = kept_token(
        create(client_in, prompt="", reference_image=photo(), fit_image="on").content.decode()
    )
    other = client_for(make_user("eve"))
    response = create(other, reference_kept=token, keep_reference="1", fit_image="on")
    assert response.status_code == 400
    assert "no longer there" in response.content.decode()
    assert not Video.objects.exists()
    assert len(kept_files()) == 1  # still the owner's


def test_a_kept_image_expires(client_in: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    token = kept_token(
        create(client_in, prompt="", reference_image=photo(), fit_image="on").content.decode()
    )
    monkeypatch.setattr(images, "KEEP_SECONDS", -1)  # an hour has passed
    response = create(client_in, reference_kept=token, keep_reference="1", fit_image="on")
    assert response.status_code == 400
    assert "Choose the file again" in response.content.decode()
    assert not Video.objects.exists()


def test_the_housekeeping_sweep_removes_kept_images_past_their_hour(user: AbstractUser) -> None:
    fresh = images.kept_upload_save(
        user_id=user.pk, data=image_bytes(8, 8), image=Image.new("RGB", (8, 8))
    )
    stale = f"{images.KEPT_FOLDER}/{int(time.time()) - images.KEEP_SECONDS - 5}-old"
    default_storage.save(stale, ContentFile(b"x"))
    tasks.recover_stale_jobs()  # the every-minute housekeeping task
    assert kept_files() == [fresh.name]
    assert images.kept_uploads_sweep(now=time.time() + images.KEEP_SECONDS + 1) == 1
    assert kept_files() == []


# --- One "Who can see it" menu --------------------------------------------------------


@pytest.fixture
def editor_and_team() -> tuple[AbstractUser, Team]:
    editor = make_user("ed")
    return editor, make_team("Crew", {editor: "editor"})


def test_the_page_shows_one_control_for_team_and_visibility(
    editor_and_team: tuple[AbstractUser, Team],
) -> None:
    editor, team = editor_and_team
    html = client_for(editor).get(NEW).content.decode()
    assert 'name="private"' not in html
    select = team_select(html)
    assert '<optgroup label="Crew">' in select
    values = re.findall(r'<option value="([^"]*)"', select)
    assert values == [str(team.pk), f"{team.pk}:private", ""]
    assert "Who can see it" in html


@pytest.mark.parametrize(
    ("choice", "in_team", "visibility"),
    [
        ("{pk}", True, Video.Visibility.TEAM),
        ("{pk}:private", True, Video.Visibility.PRIVATE),
        ("", False, Video.Visibility.TEAM),
    ],
)
def test_the_one_control_sets_team_and_visibility(
    editor_and_team: tuple[AbstractUser, Team], choice: str, in_team: bool, visibility: str
) -> None:
    editor, team = editor_and_team
    response = create(client_for(editor), team=choice.format(pk=team.pk))
    assert response.status_code == 302
    video = Video.objects.get()
    assert (video.team, video.visibility) == (team if in_team else None, visibility)


@pytest.mark.parametrize("choice", ["{pk}:private", "{pk}:secret", "nonsense"])
def test_a_choice_not_offered_is_refused_clearly(choice: str) -> None:
    viewer = make_user("vi")
    team = make_team("Crew", {viewer: "viewer"})
    response = create(client_for(viewer), team=choice.format(pk=team.pk))
    assert response.status_code == 400
    assert "You cannot create in that team: only its editors and admins can." in (
        response.content.decode()
    )
    assert not Video.objects.exists()


def test_use_these_settings_of_a_private_video_picks_its_private_choice(
    editor_and_team: tuple[AbstractUser, Team],
) -> None:
    editor, team = editor_and_team
    video = make_video(editor, team=team, visibility=Video.Visibility.PRIVATE)
    html = client_for(editor).get(f"{NEW}?from={video.pk}").content.decode()
    assert f'<option value="{team.pk}:private" selected>' in team_select(html)


def test_save_as_preset_from_a_private_choice_keeps_the_team(
    editor_and_team: tuple[AbstractUser, Team],
) -> None:
    editor, team = editor_and_team
    response = client_for(editor).post(
        reverse("videos:presets"),
        {"from_create": "1", "prompt": "p", "team": f"{team.pk}:private"},
    )
    assert re.search(
        rf'<option value="{team.pk}" selected>', team_select(response.content.decode())
    )
    assert not PromptPreset.objects.exists()


def test_the_character_form_offers_no_private_choice(
    editor_and_team: tuple[AbstractUser, Team],
) -> None:
    editor, team = editor_and_team
    html = client_for(editor).get(reverse("videos:characters")).content.decode()
    select = team_select(html)
    assert re.findall(r'<option value="([^"]*)"', select) == [str(team.pk), ""]
    assert "Everyone in Crew" in select and "Who can see it" in html
