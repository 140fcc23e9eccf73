"""Frame-accurate notes: moments and ranges on the frame grid, drawings, resolving threads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from tests.factories import client_for, make_team, make_user, make_video
from videos_app.models import Comment, Video
from videos_app.review import notes
from videos_app.review import services as services_review

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
ARROW = {"kind": "arrow", "color": "red", "points": [[0.1, 0.2], [0.5, 0.5]]}
PEN = {"kind": "pen", "color": "yellow", "points": [[0.1, 0.1], [0.2, 0.15], [0.3, 0.1]]}


@pytest.fixture
def crew() -> dict[str, Any]:
    """maya (editor, who made the video), ivan (viewer), ada (admin), lee (viewer); olga
    is an outsider. The video is 8 s long."""
    maya, ivan, ada, lee, olga = (make_user(n) for n in ("maya", "ivan", "ada", "lee", "olga"))
    team = make_team(members={maya: "editor", ivan: "viewer", ada: "admin", lee: "viewer"})
    video = make_video(maya, team=team, status=Video.Status.COMPLETED, seconds=8)
    return {"maya": maya, "ivan": ivan, "ada": ada, "lee": lee, "olga": olga, "video": video}


def post_comment(crew: dict[str, Any], data: dict[str, str], *, as_: str = "ivan") -> Any:
    url = reverse("videos:comments", args=[crew["video"].pk])
    return client_for(crew[as_]).post(url, data, headers=HTMX)


class TestSnapping:
    @pytest.mark.parametrize(
        ("seconds", "snapped"),
        [(0.0, 0.0), (1.0, 1.0), (0.2, 0.208), (0.21, 0.208), (5.2, 5.208), (7.99, 8.0)],
    )
    def test_times_snap_to_the_nearest_frame_to_the_millisecond(
        self, seconds: float, snapped: float
    ) -> None:
        assert notes.snap(seconds) == snapped
        assert notes.frame_rate() == 24

    def test_a_snapped_time_names_its_frame_again(self) -> None:
        # Stored to the millisecond, each frame's start still rounds back to that frame.
        for frame in range(24 * 8):
            assert round(notes.snap(frame / 24) * 24) == frame


class TestRanges:
    def test_a_range_is_stored_snapped_to_frames(self, crew: dict[str, Any]) -> None:
        response = post_comment(
            crew, {"body": "the turn", "at_seconds": "1.01", "out_seconds": "2.52"}
        )
        assert response.status_code == 200
        comment = Comment.objects.get()
        assert (comment.at_seconds, comment.out_seconds) == (1.0, 2.5)
        body = response.content.decode()
        assert 'data-at="1.000" data-out="2.500"' in body
        assert 'data-seek="1.000" data-seek-out="2.500"' in body
        assert "0:01.0\u20130:02.5" in body  # an en dash
        # Without JavaScript, the link is to the file's range (a media fragment).
        media = reverse("videos:media", args=[crew["video"].pk, "video"])
        assert f'href="{media}#t=1.000,2.500"' in body

    @pytest.mark.parametrize(
        ("at", "out", "error"),
        [
            ("3", "2", "A range ends at least a frame after it starts."),
            ("3", "3", "A range ends at least a frame after it starts."),
            ("3", "3.01", "A range ends at least a frame after it starts."),  # the same frame
            ("3", "8.5", "A range's end between 0 and 8 s."),
            ("", "2", "Set where the range starts (In) as well as where it ends."),
            ("-1", "2", "Ensure this value is greater than or equal to 0."),
            ("9", "10", "A moment between 0 and 8 s."),
        ],
    )
    def test_a_bad_range_is_a_form_error_and_saves_nothing(
        self, crew: dict[str, Any], at: str, out: str, error: str
    ) -> None:
        response = post_comment(crew, {"body": "keep me", "at_seconds": at, "out_seconds": out})
        body = response.content.decode()
        assert response.status_code == 200 and 'id="comments"' in body
        assert error.replace("'", "&#x27;") in body
        assert "keep me" in body  # the text survives the refusal
        assert not Comment.objects.exists()

    @pytest.mark.parametrize("out", [float("nan"), float("inf"), 8.01])
    def test_the_service_refuses_ends_outside_the_video(
        self, crew: dict[str, Any], out: float
    ) -> None:
        with pytest.raises(ValidationError) as info:
            services_review.comment_create(
                author=crew["ivan"], video=crew["video"], body="x", at_seconds=1, out_seconds=out
            )
        assert "out_seconds" in info.value.error_dict
        assert not Comment.objects.exists()

    def test_a_range_to_the_very_end_is_allowed(self, crew: dict[str, Any]) -> None:
        comment = services_review.comment_create(
            author=crew["ivan"], video=crew["video"], body="x", at_seconds=7.5, out_seconds=8
        )
        assert (comment.at_seconds, comment.out_seconds) == (7.5, 8.0)

    def test_a_bad_range_without_js_shows_the_page_with_a_400(self, crew: dict[str, Any]) -> None:
        url = reverse("videos:comments", args=[crew["video"].pk])
        response = client_for(crew["ivan"]).post(
            url, {"body": "x", "at_seconds": "4", "out_seconds": "1"}
        )
        assert response.status_code == 400
        assert "A range ends at least a frame after it starts." in response.content.decode()
        assert not Comment.objects.exists()


class TestDrawings:
    def test_a_drawing_is_stored_with_its_note(self, crew: dict[str, Any]) -> None:
        drawing = json.dumps([ARROW, PEN, {**ARROW, "kind": "rect", "color": "blue"}])
        response = post_comment(crew, {"body": "here", "at_seconds": "2", "drawing": drawing})
        assert response.status_code == 200
        comment = Comment.objects.get()
        assert comment.drawing == json.loads(drawing)
        body = response.content.decode()
        assert "data-drawing=" in body and "✎ drawing" in body
        # The page carries the shapes back for the player (HTML-escaped JSON).
        assert "&quot;kind&quot;:&quot;arrow&quot;" in body

    def test_coordinates_are_rounded_to_a_ten_thousandth(self, crew: dict[str, Any]) -> None:
        shape = {"kind": "line", "color": "white", "points": [[0.123456, 1], [0, 0.99999]]}
        post_comment(crew, {"body": "here", "at_seconds": "2", "drawing": json.dumps([shape])})
        assert Comment.objects.get().drawing[0]["points"] == [[0.1235, 1.0], [0.0, 1.0]]

    def test_an_empty_drawing_is_no_drawing(self, crew: dict[str, Any]) -> None:
        post_comment(crew, {"body": "here", "at_seconds": "2", "drawing": "[]"})
        assert Comment.objects.get().drawing is None

    @pytest.mark.parametrize(
        ("drawing", "error"),
        [
            ("not json", "it is not valid JSON"),
            ('{"kind": "arrow"}', "a drawing is a list of shapes"),
            (json.dumps([{**ARROW, "kind": "circle"}]), "unknown shape"),
            (json.dumps([{**ARROW, "color": "#ff0000"}]), "unknown colour"),
            (json.dumps([{**ARROW, "points": [[0.1, 0.2]]}]), "an arrow has 2 points"),
            (json.dumps([{**ARROW, "points": [[0.1, 0.2], [1.5, 0.5]]}]), "from 0 to 1"),
            (json.dumps([{**ARROW, "points": [[0.1, 0.2], [-0.1, 0.5]]}]), "from 0 to 1"),
            (json.dumps([{**ARROW, "points": [[0.1, 0.2], ["0.3", 0.5]]}]), "is a number"),
            (json.dumps([{**ARROW, "points": [[0.1, 0.2], [True, 0.5]]}]), "is a number"),
            (json.dumps([{**ARROW, "points": [[0.1, 0.2], [0.1, 0.2, 0.3]]}]), "a point is"),
            ('[{"kind":"arrow","color":"red","points":[[0.1,0.2],[NaN,0.5]]}]', "from 0 to 1"),
            (json.dumps([{**ARROW, "extra": 1}]), "each shape has"),
            (json.dumps([ARROW] * (notes.MAX_SHAPES + 1)), f"at most {notes.MAX_SHAPES} shapes"),
            (json.dumps([{**PEN, "points": [[0.5, 0.5]] * 401}]), "a stroke has 2 to 400 points"),
            ("[" * 5000 + "]" * 5000, "not valid JSON"),
            (json.dumps([{**PEN, "points": [[0.5, 0.5]] * 400}] * 6), "at most 2000 points"),
            (json.dumps([[0.123456789012345] * 2] * 4000), "too large"),
        ],
    )
    def test_a_bad_drawing_is_a_form_error_and_saves_nothing(
        self, crew: dict[str, Any], drawing: str, error: str
    ) -> None:
        response = post_comment(crew, {"body": "keep me", "at_seconds": "2", "drawing": drawing})
        body = response.content.decode()
        assert response.status_code == 200 and 'id="comments"' in body
        assert error.replace("'", "&#x27;") in body, body
        assert "keep me" in body
        assert not Comment.objects.exists()

    def test_a_drawing_needs_a_moment(self, crew: dict[str, Any]) -> None:
        response = post_comment(crew, {"body": "x", "drawing": json.dumps([ARROW])})
        assert "A drawing belongs to a frame" in response.content.decode()
        assert not Comment.objects.exists()

    def test_the_service_checks_shapes_too(self, crew: dict[str, Any]) -> None:
        with pytest.raises(ValidationError) as info:
            services_review.comment_create(
                author=crew["ivan"],
                video=crew["video"],
                body="x",
                at_seconds=1,
                drawing=[{**ARROW, "color": "mauve"}],
            )
        assert "drawing" in info.value.error_dict
        assert not Comment.objects.exists()


class TestResolve:
    def resolve(self, crew: dict[str, Any], who: str, comment: Comment, value: str) -> Any:
        url = reverse("videos:comment_resolve", args=[crew["video"].pk, comment.pk])
        return client_for(crew[who]).post(url, {"resolved": value}, headers=HTMX)

    def thread(self, crew: dict[str, Any], author: str = "ivan") -> Comment:
        return services_review.comment_create(
            author=crew[author], video=crew["video"], body="too dark", at_seconds=1
        )

    @pytest.mark.parametrize("who", ["ivan", "maya", "ada"])  # the author, an editor, an admin
    def test_the_author_and_the_editors_resolve_and_reopen(
        self, crew: dict[str, Any], who: str
    ) -> None:
        comment = self.thread(crew)
        response = self.resolve(crew, who, comment, "1")
        assert response.status_code == 200
        comment.refresh_from_db()
        assert comment.resolved_by == crew[who] and comment.resolved_at is not None
        body = response.content.decode()
        assert "thread--resolved" in body and f"Resolved by {who}" in body
        assert "data-resolved" in body  # its marker dims
        assert ">Reopen</button>" in body

        response = self.resolve(crew, who, comment, "0")
        comment.refresh_from_db()
        assert comment.resolved_at is None and comment.resolved_by is None
        assert "thread--resolved" not in response.content.decode()

    def test_another_viewer_may_not_resolve(self, crew: dict[str, Any]) -> None:
        comment = self.thread(crew)
        assert self.resolve(crew, "lee", comment, "1").status_code == 403
        comment.refresh_from_db()
        assert comment.resolved_at is None
        # Nor is the button shown to them.
        page = client_for(crew["lee"]).get(crew["video"].get_absolute_url()).content.decode()
        assert ">Resolve</button>" not in page
        page = client_for(crew["ivan"]).get(crew["video"].get_absolute_url()).content.decode()
        assert ">Resolve</button>" in page

    def test_an_outsider_gets_a_404(self, crew: dict[str, Any]) -> None:
        comment = self.thread(crew)
        assert self.resolve(crew, "olga", comment, "1").status_code == 404
        comment.refresh_from_db()
        assert comment.resolved_at is None

    def test_a_reply_is_not_resolved_on_its_own(self, crew: dict[str, Any]) -> None:
        root = self.thread(crew)
        reply = services_review.comment_create(
            author=crew["ivan"], video=crew["video"], body="agreed", parent=root
        )
        assert self.resolve(crew, "ivan", reply, "1").status_code == 400
        reply.refresh_from_db()
        assert reply.resolved_at is None

    def test_resolving_twice_keeps_the_first_resolver(self, crew: dict[str, Any]) -> None:
        comment = self.thread(crew)
        self.resolve(crew, "maya", comment, "1")
        comment.refresh_from_db()
        first = comment.resolved_at
        self.resolve(crew, "ada", comment, "1")
        comment.refresh_from_db()
        assert comment.resolved_by == crew["maya"] and comment.resolved_at == first

    def test_a_bad_value_is_a_400(self, crew: dict[str, Any]) -> None:
        comment = self.thread(crew)
        assert self.resolve(crew, "ivan", comment, "maybe").status_code == 400

    def test_a_comment_of_another_video_is_a_404(self, crew: dict[str, Any]) -> None:
        other = make_video(crew["maya"], team=crew["video"].team, status="completed", seconds=4)
        comment = services_review.comment_create(author=crew["ivan"], video=other, body="x")
        assert self.resolve(crew, "ivan", comment, "1").status_code == 404

    def test_a_plain_post_redirects_to_the_thread(self, crew: dict[str, Any]) -> None:
        comment = self.thread(crew)
        url = reverse("videos:comment_resolve", args=[crew["video"].pk, comment.pk])
        response = client_for(crew["maya"]).post(url, {"resolved": "1"})
        assert response.status_code == 302
        assert response["Location"].endswith(f"#comment-{comment.pk}")

    def test_the_service_refuses_a_viewer(self, crew: dict[str, Any]) -> None:
        comment = self.thread(crew)
        with pytest.raises(PermissionDenied):
            services_review.comment_resolve(
                actor=crew["lee"], video=crew["video"], comment=comment, resolved=True
            )

    def test_a_video_without_a_team_is_resolved_by_its_owner(self) -> None:
        owner = make_user("solo")
        video = make_video(owner, status="completed", seconds=4)
        comment = services_review.comment_create(author=owner, video=video, body="x")
        services_review.comment_resolve(actor=owner, video=video, comment=comment, resolved=True)
        comment.refresh_from_db()
        assert comment.resolved_by == owner


class TestThePage:
    def test_the_player_has_its_notes_tools_and_keys(self, crew: dict[str, Any]) -> None:
        page = client_for(crew["ivan"]).get(crew["video"].get_absolute_url()).content.decode()
        assert 'id="notes-bar"' in page and 'id="drawing-layer"' in page
        assert 'data-draw-kind="arrow"' in page and 'data-draw-color="red"' in page
        assert 'id="keys-help"' in page and "<kbd>J</kbd>" in page
        assert 'data-fps="24"' in page
        assert 'name="out_seconds"' in page and 'name="drawing"' in page

    def test_a_video_still_rendering_has_no_drawing_tools(self, crew: dict[str, Any]) -> None:
        video = make_video(crew["maya"], team=crew["video"].team, status="in_progress")
        page = client_for(crew["ivan"]).get(video.get_absolute_url()).content.decode()
        assert 'id="drawing-layer"' not in page


def test_the_admin_lists_notes_and_filters_the_resolved(crew: dict[str, Any]) -> None:
    staff = make_user("root", is_staff=True, is_superuser=True)
    comment = services_review.comment_create(
        author=crew["ivan"], video=crew["video"], body="open one", at_seconds=1, out_seconds=2
    )
    services_review.comment_resolve(
        actor=staff, video=crew["video"], comment=comment, resolved=True
    )
    services_review.comment_create(author=crew["ivan"], video=crew["video"], body="still open")
    url = reverse("admin:videos_app_comment_changelist")
    resolved = client_for(staff).get(url, {"resolved_at__isempty": "0"}).content.decode()
    assert "open one" in resolved and "still open" not in resolved
