"""The "Team" select and "Private" checkbox of the create forms, and the teams pages' forms.

Any form gets them with ``add_team_fields(form, user)``; ``chosen_team(form)`` reads the
team back after ``is_valid()``. The choices are the teams the user may create in
(``permissions.teams_for_create``) plus "Only me" (no team), so a team the user may not
create in is an invalid choice, a form error, and nothing is stored.
"""

from __future__ import annotations

from django import forms

from .. import permissions
from ..models import Video
from .models import Membership, Team

ONLY_ME = ""


def add_team_fields(
    form: forms.Form, user: permissions.AnyUser, *, private: bool = True, noun: str = "video"
) -> None:
    teams = {str(team.pk): team for team in permissions.teams_for_create(user)}
    form._studio_teams = teams  # type: ignore[attr-defined]
    choices = [(pk, team.name) for pk, team in teams.items()]
    choices.append((ONLY_ME, "Only me (no team)"))
    default = permissions.default_team(user)
    form.fields["team"] = forms.ChoiceField(
        label="Team",
        choices=choices,
        required=False,
        initial=str(default.pk) if default else ONLY_ME,
        help_text=f"Its members see the {noun}; “Only me” keeps it to you (and staff).",
        error_messages={
            "invalid_choice": "You cannot create in that team: editors and admins can."
        },
    )
    if private:
        form.fields["private"] = forms.BooleanField(
            label="Private (only me and staff)",
            required=False,
            help_text="Keep it out of the team's gallery while it stays in the team.",
        )


def chosen_team(form: forms.Form) -> Team | None:
    """The team chosen in a valid form (None: "Only me")."""
    teams: dict[str, Team] = getattr(form, "_studio_teams", {})
    return teams.get(form.cleaned_data.get("team") or ONLY_ME)


def chosen_visibility(form: forms.Form) -> str:
    if form.cleaned_data.get("private"):
        return Video.Visibility.PRIVATE
    return Video.Visibility.TEAM


class MemberAddForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "username"}),
        error_messages={"required": "Give the username of the person to add."},
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
