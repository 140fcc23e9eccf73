"""The team settings pages (/teams/), their rules, the admin for teams, and ensureadmin."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.factories import client_for, crew_cast, make_user, team_select
from videos_app.models import Membership, Team

ROLES = ["staff", "admin", "editor", "viewer", "other_team", "no_team"]
MEMBERS = {"admin", "editor", "viewer"}
MANAGERS = {"staff", "admin"}


@pytest.fixture
def people(db: None) -> dict[str, User]:
    return crew_cast(ROLES, outsider="other_team")  # type: ignore[return-value]


def crew() -> Team:
    return Team.objects.get(slug="crew")


def membership(username: str) -> Membership:
    return Membership.objects.get(team__slug="crew", user__username=username)


@pytest.mark.parametrize("role", ROLES)
def test_the_team_list_shows_my_teams(people: dict[str, User], role: str) -> None:
    body = client_for(people[role]).get(reverse("videos:teams")).content.decode()
    assert ("Crew" in body) == (role in MEMBERS or role == "staff")
    assert ("Elsewhere" in body) == (role in {"other_team", "staff"})
    if role == "no_team":
        assert "not in a team yet" in body


@pytest.mark.parametrize("role", ROLES)
def test_everyone_in_the_team_sees_its_members_and_outsiders_get_404(
    people: dict[str, User], role: str
) -> None:
    response = client_for(people[role]).get(reverse("videos:team", args=["crew"]))
    if role in MEMBERS or role == "staff":
        assert response.status_code == 200
        body = response.content.decode()
        for name in MEMBERS:
            assert name in body
        # Only managers get the forms.
        assert ("Add a member" in body) == (role in MANAGERS)
        assert ('name="role"' in body) == (role in MANAGERS)
    else:
        assert response.status_code == 404


def test_the_team_page_breadcrumb_names_the_team(people: dict[str, User]) -> None:
    body = client_for(people["viewer"]).get(reverse("videos:team", args=["crew"])).content.decode()
    assert '<a href="/teams/">Teams</a> <span aria-hidden="true">/</span> Crew</nav>' in body


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_and_staff_add_members(people: dict[str, User], role: str) -> None:
    newcomer = make_user("newcomer")
    response = client_for(people[role]).post(
        reverse("videos:team", args=["crew"]), {"username": "newcomer", "role": "viewer"}
    )
    if role in MANAGERS:
        assert response.status_code == 302
        assert membership("newcomer").role == "viewer"
    else:
        assert response.status_code == (403 if role in MEMBERS else 404)
        assert not Membership.objects.filter(user=newcomer).exists()


def test_the_add_member_form_offers_the_least_privilege_first(people: dict[str, User]) -> None:
    body = client_for(people["admin"]).get(reverse("videos:team", args=["crew"])).content.decode()
    assert '<option value="viewer" selected>Viewer</option>' in body
    assert '<option value="editor">Editor</option>' in body


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_and_staff_change_roles_and_remove(people: dict[str, User], role: str) -> None:
    client = client_for(people[role])
    target = membership("viewer")
    role_url = reverse("videos:team_member_role", args=["crew", target.pk])
    remove_url = reverse("videos:team_member_remove", args=["crew", target.pk])
    changed = client.post(role_url, {"role": "editor"})
    if role in MANAGERS:
        assert changed.status_code == 302
        assert membership("viewer").role == "editor"
        assert client.post(remove_url).status_code == 302
        assert not Membership.objects.filter(pk=target.pk).exists()
    else:
        want = 403 if role in MEMBERS else 404
        assert changed.status_code == want
        assert client.post(remove_url).status_code == want
        assert membership("viewer").role == "viewer"


def test_adding_an_unknown_or_existing_user_is_a_form_error(people: dict[str, User]) -> None:
    client = client_for(people["admin"])
    url = reverse("videos:team", args=["crew"])
    unknown = client.post(url, {"username": "nobody", "role": "editor"})
    assert unknown.status_code == 400
    assert "No user “nobody”" in unknown.content.decode()
    again = client.post(url, {"username": "editor", "role": "admin"})
    assert again.status_code == 400
    assert "already in Crew" in again.content.decode()
    assert membership("editor").role == "editor"
    bad_role = client.post(url, {"username": "no_team", "role": "owner"})
    assert bad_role.status_code == 400
    assert not Membership.objects.filter(user=people["no_team"]).exists()


def test_the_last_admin_cannot_step_down_or_be_removed(people: dict[str, User]) -> None:
    client = client_for(people["admin"])
    admin = membership("admin")
    response = client.post(
        reverse("videos:team_member_role", args=["crew", admin.pk]), {"role": "editor"}, follow=True
    )
    assert "A team needs an admin" in response.content.decode()
    assert membership("admin").role == "admin"
    client.post(reverse("videos:team_member_remove", args=["crew", admin.pk]))
    assert membership("admin").role == "admin"
    # With a second admin, the first may leave.
    editor = membership("editor")
    client.post(reverse("videos:team_member_role", args=["crew", editor.pk]), {"role": "admin"})
    response = client.post(reverse("videos:team_member_remove", args=["crew", admin.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("videos:teams")
    assert not Membership.objects.filter(pk=admin.pk).exists()


def test_a_member_of_another_team_cannot_reach_its_members(people: dict[str, User]) -> None:
    other = Membership.objects.get(team__slug="elsewhere")
    client = client_for(people["admin"])  # admin of Crew, not of Elsewhere
    url = reverse("videos:team_member_remove", args=["elsewhere", other.pk])
    assert client.post(url).status_code == 404
    # Nor through the wrong team's URL.
    url = reverse("videos:team_member_remove", args=["crew", other.pk])
    assert client.post(url).status_code == 404
    assert Membership.objects.filter(pk=other.pk).exists()


def test_roles_change_what_the_user_may_do_at_once(people: dict[str, User]) -> None:
    viewer = client_for(people["viewer"])
    form = viewer.get(reverse("videos:new")).content.decode()
    assert '<select name="team"' not in form or f'<option value="{crew().pk}"' not in team_select(
        form
    )
    client_for(people["admin"]).post(
        reverse("videos:team_member_role", args=["crew", membership("viewer").pk]),
        {"role": "editor"},
    )
    form = viewer.get(reverse("videos:new")).content.decode()
    assert f'<option value="{crew().pk}"' in team_select(form)


def test_the_nav_links_to_the_teams_page(people: dict[str, User]) -> None:
    body = client_for(people["viewer"]).get(reverse("videos:gallery")).content.decode()
    assert f'href="{reverse("videos:teams")}"' in body


# --- admin ---------------------------------------------------------------------------


def test_the_admin_lists_teams_and_memberships(people: dict[str, User]) -> None:
    root = client_for(make_user("root", is_staff=True, is_superuser=True))  # type: ignore[arg-type]
    teams = root.get(reverse("admin:videos_app_team_changelist"))
    assert teams.status_code == 200 and "Crew" in teams.content.decode()
    change = root.get(reverse("admin:videos_app_team_change", args=[crew().pk]))
    assert change.status_code == 200 and "viewer" in change.content.decode()
    memberships = root.get(reverse("admin:videos_app_membership_changelist") + "?role=viewer")
    body = memberships.content.decode()
    assert memberships.status_code == 200 and "viewer in Crew" in body
    assert "admin in Crew" not in body
    videos = root.get(
        reverse("admin:videos_app_video_changelist") + f"?team__id__exact={crew().pk}"
    )
    assert videos.status_code == 200


def test_the_admin_refuses_a_team_without_an_admin(people: dict[str, User]) -> None:
    root = client_for(make_user("root", is_staff=True, is_superuser=True))  # type: ignore[arg-type]
    response = root.post(
        reverse("admin:videos_app_team_add"),
        {
            "name": "Leaderless",
            "slug": "leaderless",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": str(people["no_team"].pk),
            "memberships-0-role": "editor",
        },
    )
    assert response.status_code == 200
    assert "A team needs at least one admin." in response.content.decode()
    assert not Team.objects.filter(slug="leaderless").exists()


class TestTheMembershipAdminKeepsAnAdmin:
    """The membership and user admins keep the rule the team page and team admin keep."""

    @pytest.fixture
    def root(self, people: dict[str, User]) -> Client:
        return client_for(make_user("root", is_staff=True, is_superuser=True))  # type: ignore[arg-type]

    def change(self, root: Client, member: Membership, **fields: str) -> Any:
        data = {"team": str(member.team_id), "user": str(member.user_id), "role": member.role}
        url = reverse("admin:videos_app_membership_change", args=[member.pk])
        return root.post(url, data | fields)

    def test_the_last_admin_cannot_be_demoted_or_moved_to_another_team(self, root: Client) -> None:
        admin = membership("admin")
        for fields in ({"role": "viewer"}, {"team": str(Team.objects.get(slug="elsewhere").pk)}):
            response = self.change(root, admin, **fields)
            assert response.status_code == 200
            assert "Crew needs at least one admin" in response.content.decode()
            assert (membership("admin").role, membership("admin").team_id) == ("admin", crew().pk)

    def test_an_admin_with_a_fellow_admin_can_step_down(self, root: Client) -> None:
        self.change(root, membership("editor"), role="admin")
        assert self.change(root, membership("admin"), role="viewer").status_code == 302
        assert membership("admin").role == "viewer"

    def test_deleting_the_last_admin_is_refused_and_says_why(self, root: Client) -> None:
        admin = membership("admin")
        url = reverse("admin:videos_app_membership_delete", args=[admin.pk])
        asked = root.get(url).content.decode()
        assert "Crew needs at least one admin" in asked
        root.post(url, {"post": "yes"})
        changelist = reverse("admin:videos_app_membership_changelist")
        root.post(
            changelist,
            {"action": "delete_selected", "_selected_action": [str(admin.pk)], "post": "yes"},
        )
        assert Membership.objects.filter(pk=admin.pk).exists()
        viewer = membership("viewer")  # anyone else goes as before
        root.post(
            changelist,
            {"action": "delete_selected", "_selected_action": [str(viewer.pk)], "post": "yes"},
        )
        assert not Membership.objects.filter(pk=viewer.pk).exists()

    def test_deleting_a_user_who_is_a_teams_last_admin_is_refused(
        self, root: Client, people: dict[str, User]
    ) -> None:
        user = people["admin"]
        url = reverse("admin:auth_user_delete", args=[user.pk])
        assert "Crew needs at least one admin" in root.get(url).content.decode()
        root.post(url, {"post": "yes"})
        assert User.objects.filter(pk=user.pk).exists()
        viewer = people["viewer"]
        root.post(reverse("admin:auth_user_delete", args=[viewer.pk]), {"post": "yes"})
        assert not User.objects.filter(pk=viewer.pk).exists()


# --- ensureadmin ---------------------------------------------------------------------


def test_ensureadmin_makes_a_first_team_once(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_ADMIN_PASSWORD", "a-long-admin-password")
    call_command("ensureadmin", stdout=StringIO())
    team = Team.objects.get()
    assert (team.name, team.slug) == ("Studio", "studio")
    assert Membership.objects.get(team=team).role == "admin"
    assert Membership.objects.get(team=team).user.is_superuser
    call_command("ensureadmin", stdout=StringIO())
    assert Team.objects.count() == 1


def test_ensureadmin_leaves_existing_teams_alone(people: dict[str, User]) -> None:
    make_user("root", is_staff=True, is_superuser=True)
    out = StringIO()
    call_command("ensureadmin", stdout=out)
    assert not Team.objects.filter(slug="studio").exists()
    assert "already exists" in out.getvalue()


def test_removing_a_member_asks_first_and_says_their_videos_stay(people: dict[str, User]) -> None:
    client = client_for(people["admin"])
    target = membership("viewer")
    url = reverse("videos:team_member_remove", args=["crew", target.pk])
    page = client.get(reverse("videos:team", args=["crew"])).content.decode()
    assert f'href="{url}"' in page  # a link to the question, not a one-click removal
    asked = client.get(url)
    assert asked.status_code == 200
    text = asked.content.decode()
    assert f"Remove {target.user.get_username()} from" in text and "add them back" in text
    assert Membership.objects.filter(pk=target.pk).exists()  # asking changes nothing
    assert client.post(url).status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()


def test_only_managers_see_the_removal_question(people: dict[str, User]) -> None:
    url = reverse("videos:team_member_remove", args=["crew", membership("viewer").pk])
    assert client_for(people["editor"]).get(url).status_code == 403
    assert client_for(people["other_team"]).get(url).status_code == 404
