"""Forms of collections and saved filters: where one lives (a team or personal), its
name, and a saved filter's query string checked by the gallery's own filter form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from .. import permissions
from ..forms import FILTER_KEYS, GalleryFilterForm
from ..models import Team
from .models import NAME_LENGTH, QUERY_LENGTH
from .selectors import teams_to_change

PERSONAL = ""


class NameForm(forms.Form):
    name = forms.CharField(max_length=NAME_LENGTH, strip=True, label="Name")


class PlacedForm(NameForm):
    """A name and where the new row lives: one of the teams the user may change, or
    their own (personal)."""

    team = forms.ChoiceField(required=False, label="For")

    def __init__(
        self, *args: Any, user: Any, teams: list[Team] | None = None, **kwargs: Any
    ) -> None:
        """``teams``: those the user may change, if read already."""
        super().__init__(*args, **kwargs)
        rows = teams if teams is not None else teams_to_change(user)
        self.team_rows = {str(t.pk): t for t in rows}
        team = self.fields["team"]
        assert isinstance(team, forms.ChoiceField)
        team.choices = [
            (PERSONAL, "Only me"),
            *((pk, t.name) for pk, t in self.team_rows.items()),
        ]

    def chosen_team(self) -> Team | None:
        return self.team_rows.get(self.cleaned_data.get("team") or PERSONAL)


def cleaned_query(raw: str, *, user: Any) -> str:
    """``raw`` (a gallery query string) as the filter form's cleaned values, in a fixed
    order; ValidationError when a filter is invalid or none is set."""
    teams = list(permissions.teams_visible_to(user).values_list("slug", "name"))
    form = GalleryFilterForm(QueryDict(raw), teams=teams)
    if not form.is_valid():
        wrong = ", ".join(str(form.fields[name].label) for name in form.errors)
        raise ValidationError(f"These filters are not valid: {wrong}.")
    out = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        value = form.cleaned_data.get(key)
        if value in (None, "", False):
            continue
        out[key] = "on" if value is True else str(value)
    if not out:
        raise ValidationError("Set a filter or a search to save.")
    return out.urlencode()


class SavedFilterForm(PlacedForm):
    query = forms.CharField(max_length=QUERY_LENGTH, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.user = user

    def clean_query(self) -> str:
        return cleaned_query(self.cleaned_data["query"], user=self.user)
