"""The preset form (new and change)."""

from __future__ import annotations

from typing import Any

from django import forms

from .. import permissions
from ..models import Team
from ..providers import catalog
from .selectors import model_names


class PresetForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    prompt = forms.CharField(
        max_length=catalog.MAX_PROMPT_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    model = forms.ChoiceField()
    size = forms.ChoiceField(choices=[(s, s) for s in catalog.SIZES])
    seconds = forms.TypedChoiceField(
        label="Duration", choices=[(s, f"{s} seconds") for s in catalog.SECONDS], coerce=int
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team = self.fields["team"]
        assert isinstance(team, forms.ModelChoiceField)
        team.queryset = permissions.teams_for_create(user).order_by("name")
        model = self.fields["model"]
        assert isinstance(model, forms.ChoiceField)
        model.choices = [(name, name) for name in model_names()]
