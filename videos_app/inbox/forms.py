"""The inbox's form: per kind, whether it shows in the inbox and whether it is emailed."""

from __future__ import annotations

from django import forms

from .models import Kind

KIND_CHOICES = [(k.value, k.label) for k in Kind]


class ChoicesForm(forms.Form):
    shown = forms.MultipleChoiceField(
        label="Show in my inbox",
        choices=KIND_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    emailed = forms.MultipleChoiceField(
        label="Also email me",
        choices=KIND_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="At most one email every ten minutes, listing everything new since the last.",
    )
