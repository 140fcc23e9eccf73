"""Who sees what a create form makes (one "Who can see it" menu), and the teams pages' forms.

Any form gets the menu with ``add_team_fields(form, user)``; ``chosen_team(form)`` and
``chosen_visibility(form)`` read it back after ``is_valid()``. It is one ``team`` field
whose choices are, per team the user may create in (``permissions.teams_for_create``),
"everyone in it" (the team's id) and, for videos, "only me, kept in it" (the id with
``:private``), then "Only me (no team)" (empty). A team the user may not create in is an
invalid choice, a form error, and nothing is stored. The pair the form used to post,
``team=<id>`` and a ``private`` checkbox, is still understood.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm

from .. import permissions
from ..models import Video
from .models import Membership, Team

ONLY_ME = ""
PRIVATE = ":private"  # a team's "only me" choice: "<team id>:private"


def add_team_fields(
    form: forms.Form, user: permissions.AnyUser, *, private: bool = True, noun: str = "video"
) -> None:
    """``private``: offer "only me, kept in the team" (videos have it, characters not)."""
    teams = {str(team.pk): team for team in permissions.teams_for_create(user)}
    form._studio_teams = teams  # type: ignore[attr-defined]
    choices: list[Any] = []
    for pk, team in teams.items():
        if private:
            choices.append(
                (
                    team.name,
                    [
                        (pk, f"Everyone in {team.name}"),
                        (pk + PRIVATE, f"Only me — private, kept in {team.name}"),
                    ],
                )
            )
        else:
            choices.append((pk, f"Everyone in {team.name}"))
    choices.append((ONLY_ME, "Only me (no team)"))
    default = permissions.default_team(user)
    initial = form.initial.get("team", str(default.pk) if default else ONLY_ME)
    if private and form.initial.get("private") and initial:
        # "Use these settings" of a private video (presets.selectors.video_settings).
        form.initial["team"] = f"{initial}{PRIVATE}"
    help_text = f"“Everyone in” a team: its members see the {noun}."
    if private:
        help_text += " “Private”: it stays in the team, but only you and staff see it."
    help_text += " “Only me (no team)”: yours alone (and staff's)."
    form.fields["team"] = forms.ChoiceField(
        label="Who can see it",
        choices=choices,
        required=False,
        initial=initial,
        help_text=help_text,
        error_messages={
            "invalid_choice": "You cannot create in that team: only its editors and admins "
            "can. Pick one of the choices listed."
        },
    )
    form._studio_private = private  # type: ignore[attr-defined]


def chosen_team(form: forms.Form) -> Team | None:
    """The team chosen in a valid form (None: "Only me (no team)")."""
    teams: dict[str, Team] = getattr(form, "_studio_teams", {})
    value: str = form.cleaned_data.get("team") or ONLY_ME
    return teams.get(value.removesuffix(PRIVATE))


def chosen_visibility(form: forms.Form) -> str:
    value: str = form.cleaned_data.get("team") or ONLY_ME
    # The old separate checkbox, from a page still open (or a script) from before.
    legacy = forms.CheckboxInput().value_from_datadict(form.data, form.files, "private")
    if value.endswith(PRIVATE) or (legacy and getattr(form, "_studio_private", False)):
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


class CapField(forms.CharField):
    """US dollars as typed (``50``, ``12.50``, ``$12.50``); blank is None (no cap). Only
    the parse: the range and the cents are the service's rules (``teams.services._cap``).
    A text input, not a number one: a browser sends an unparsable number as blank, which
    would remove the cap instead of saying what is wrong."""

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = str(super().to_python(value)).strip().removeprefix("$").strip()
        if not text:
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            raise forms.ValidationError(
                "Give the cap in US dollars, such as 50 or 12.50 (blank: no cap).",
                code="invalid_value",
            )
        return amount


class CapForm(forms.Form):
    """A team's or a member's monthly spend cap."""

    monthly_cap = CapField(
        label="Monthly spend cap (USD)",
        required=False,
        widget=forms.TextInput(
            attrs={
                "inputmode": "decimal",
                "autocomplete": "off",
                "maxlength": 20,
                "placeholder": "no cap",
            }
        ),
    )


class MemberCapForm(CapForm):
    """A member's own cap: blank leaves them with only the team's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["monthly_cap"].widget.attrs["placeholder"] = "team's only"


class InvitationForm(forms.Form):
    """Invite by email (``kind=email``: the address is needed) or make a one-time link."""

    KINDS = (("email", "Email"), ("link", "Link"))

    kind = forms.ChoiceField(choices=KINDS, initial="email", widget=forms.HiddenInput)
    email = forms.EmailField(
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "name@example.com"}),
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "invite-%s")  # the add-member form has its own role
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == "email" and not data.get("email") and "email" not in self.errors:
            self.add_error("email", "Give the address to send the invitation to.")
        if data.get("kind") == "link":
            data["email"] = ""
        return data


class InvitationSignUpForm(UserCreationForm):
    """A new account from an invitation: username, email (prefilled when the invitation
    was emailed), and a password checked by AUTH_PASSWORD_VALIDATORS."""

    email = forms.EmailField(required=False, max_length=254)

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
