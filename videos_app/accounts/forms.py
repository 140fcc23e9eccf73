"""The account pages' forms: an API key's name, the display preferences."""

from __future__ import annotations

from django import forms

from .models import Preferences


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. render script on the build box"}),
        error_messages={"required": "Name the key after where it will be used."},
    )


class PreferencesForm(forms.Form):
    time_format = forms.ChoiceField(
        label="Times in a video",
        choices=Preferences.TimeFormat.choices,
        widget=forms.RadioSelect,
        help_text="How comments, the comment box and compare show a moment of a video.",
    )
