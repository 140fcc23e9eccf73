"""The gallery's filters, search and sort, read from the query string.

Use it wherever "the videos the gallery shows for this URL" are needed::

    form = GalleryFilterForm(request.GET)
    form.is_valid()  # an invalid field is left out of cleaned_data, never raises
    videos = selectors.video_gallery(user=request.user, filters=form.cleaned_data)

``video_gallery`` ignores missing and empty keys, so a half-valid query string filters by
its valid fields only, and ``form.errors`` says what was ignored.

Query parameters (all optional): ``creator`` (username), ``team`` (slug), ``status``,
``model``, ``size``, ``seconds``, ``operation`` (create, remix, extend, edit), ``review``
(draft, in_review, approved, rejected), ``favorites`` (``1``: only mine), ``from`` and
``to`` (dates, ``YYYY-MM-DD``, both inclusive), ``q`` (search words, ``"a phrase"``,
``-word``, ``or``) and ``sort`` (see ``SORTS``). ``page`` is read by the view.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from . import search
from .models import Video
from .providers import catalog

# name: (label, ordering). Ties always break on the newest, then the id.
SORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "newest": ("Newest first", ("-created_at", "-id")),
    "oldest": ("Oldest first", ("created_at", "id")),
    "longest": ("Longest first", ("-seconds", "-created_at", "-id")),
    "shortest": ("Shortest first", ("seconds", "-created_at", "-id")),
    "reviewed": ("Recently reviewed", ("-review_changed_at", "-created_at", "-id")),
}
FILTER_KEYS = (
    "creator", "team", "status", "model", "size", "seconds", "operation", "review",
    "favorites", "from", "to", "q", "sort",
)  # fmt: skip


def _any(label: str, choices: Any) -> list[tuple[str, str]]:
    return [("", label), *[(str(value), str(name)) for value, name in choices]]


class GalleryFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        strip=True,
        label="Search prompts",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Search prompts…", "autocomplete": "off"}
        ),
    )
    creator = forms.CharField(
        required=False, max_length=150, label="Creator", widget=forms.TextInput(
            attrs={"placeholder": "username", "autocomplete": "off"}
        )
    )  # fmt: skip
    team = forms.SlugField(required=False, max_length=100, label="Team")
    status = forms.ChoiceField(
        required=False, choices=_any("Any status", Video.Status.choices), label="Status"
    )
    review = forms.ChoiceField(
        required=False, choices=_any("Any review", Video.ReviewState.choices), label="Review"
    )
    operation = forms.ChoiceField(
        required=False, choices=_any("Any", Video.Operation.choices), label="Operation"
    )
    model = forms.CharField(required=False, max_length=64, label="Model")
    size = forms.ChoiceField(
        required=False, choices=_any("Any size", ((s, s) for s in catalog.SIZES)), label="Size"
    )
    seconds = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=_any("Any length", ((s, f"{s} s") for s in catalog.SECONDS)),
        label="Duration",
    )
    favorites = forms.BooleanField(required=False, label="My favorites")
    sort = forms.ChoiceField(
        required=False,
        choices=[(name, label) for name, (label, _) in SORTS.items()],
        label="Sort",
    )

    def __init__(
        self,
        *args: Any,
        teams: list[tuple[str, str]] | None = None,
        models: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """``teams`` (slug, name: those the user sees) and ``models`` turn those two
        text fields into menus (for the page). A team not in ``teams`` is reported and
        ignored, as it could match nothing; a model no longer routed is kept and added
        to the menu, since older videos may still carry it."""
        super().__init__(*args, **kwargs)
        self.teams = teams
        if teams is not None:
            self.fields["team"].widget = forms.Select(choices=[("", "Any team"), *teams])
        if models is not None:
            asked = self.data.get("model", "") if self.is_bound else ""
            extra = [asked] if asked and asked not in models and len(asked) <= 64 else []
            self.fields["model"].widget = forms.Select(
                choices=[("", "Any model"), *((m, m) for m in [*models, *extra])]
            )

    def clean_team(self) -> str:
        slug: str = self.cleaned_data["team"]
        if slug and self.teams is not None and slug not in {s for s, _ in self.teams}:
            raise ValidationError(f"You are not in a team “{slug}”.")
        return slug

    def clean_q(self) -> str:
        text: str = self.cleaned_data["q"]
        if text and not search.has_words(text):
            raise ValidationError("Search for at least one word (letters or digits).")
        return text

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", "The end date is before the start date.")
        return data

    @property
    def active_filters(self) -> int:
        """How many filters (not the search, not the sort) are set."""
        data = getattr(self, "cleaned_data", {})
        skip = ("q", "sort")
        return sum(data.get(key) not in (None, "", False) for key in FILTER_KEYS if key not in skip)

    @property
    def is_filtered(self) -> bool:
        """Whether any filter or search narrows the gallery (sort alone does not)."""
        data = getattr(self, "cleaned_data", {})
        return any(data.get(key) not in (None, "", False) for key in FILTER_KEYS if key != "sort")


# "from" and "to" are Python keywords, so they join the declared fields here.
GalleryFilterForm.base_fields["from"] = forms.DateField(
    required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
)
GalleryFilterForm.base_fields["to"] = forms.DateField(
    required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
)
