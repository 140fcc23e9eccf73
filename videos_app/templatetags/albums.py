"""The gallery results' collection bar (albums/): ``{% collection_bar form as bar %}``
in the results fragment, which htmx swaps on every filter change, so what it shows
follows the filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template

from ..albums import selectors
from ..albums.models import Collection

register = template.Library()


@dataclass(frozen=True)
class CollectionBar:
    """The collection the gallery is filtered by (None: none, or one the user does not
    see) and whether the user may take videos out of it."""

    current: Collection | None
    can_change_current: bool


@register.simple_tag(takes_context=True)
def collection_bar(context: Any, form: Any) -> CollectionBar:
    """One light query, only while a collection filters the gallery."""
    user = context["request"].user
    current_id = getattr(form, "cleaned_data", {}).get("collection")
    if not current_id:
        return CollectionBar(current=None, can_change_current=False)
    current = (
        selectors.collections_visible_to(user).select_related("team").filter(pk=current_id).first()
    )
    changes = current is not None and selectors.can_change(
        user, team_id=current.team_id, owner_id=current.owner_id
    )
    return CollectionBar(current=current, can_change_current=changes)
