"""Writes to characters: made from a short clip, brought into a video by name or by id,
deleted with their files. The pages and /v1 call the same code."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Case, When

from .. import permissions, probe
from ..media import storage_delete
from ..models import Character, Team
from ..providers import catalog

logger = logging.getLogger(__name__)


def characters_for_prompt(*, user: User, prompt: str, ids: Sequence[str] = ()) -> list[Character]:
    """The characters a create names: listed by id, or named in the prompt (at most two).

    A name in the prompt means one character, chosen predictably: the caller's own
    before a team's, then the newest of same-named ones; only the caller's and their
    teams' characters count (``permissions.characters_named_by``), and a name found only
    inside a longer name that also matched ("Red" in "Red Fox") is that longer one.
    """
    visible = permissions.characters_visible_to(user)
    chosen: dict[str, Character] = {}
    for character_id in ids:
        try:
            character = visible.get(pk=character_id)
        except Character.DoesNotExist:
            raise ValidationError(
                {
                    "characters": ValidationError(
                        f"Unknown character: '{character_id}'.", code="unknown_character"
                    )
                }
            ) from None
        chosen[character.pk] = character
    for character in _characters_named_in(user=user, prompt=prompt):
        if not any(
            c.name.lower().strip() == character.name.lower().strip() for c in chosen.values()
        ):
            chosen.setdefault(character.pk, character)
    if len(chosen) > catalog.MAX_CHARACTERS:
        raise ValidationError(
            {
                "characters": ValidationError(
                    f"A video can show at most {catalog.MAX_CHARACTERS} characters; this one names "
                    f"{len(chosen)}.",
                    code="too_many_characters",
                )
            }
        )
    return list(chosen.values())


def _characters_named_in(*, user: User, prompt: str) -> list[Character]:
    """One character per name the prompt contains (see ``characters_for_prompt``)."""
    lowered = prompt.lower()
    spans: dict[str, list[tuple[int, int]]] = {}
    meant: dict[str, Character] = {}
    # Own first, then the newest: the first one seen of a name is the one it means.
    candidates = (
        permissions.characters_named_by(user)
        .annotate(not_own=Case(When(owner_id=user.pk, then=0), default=1))
        .order_by("not_own", "-created_at", "-id")
        .only("id", "name", "poster")
    )
    for character in candidates:
        name = character.name.lower().strip()
        if name and name not in meant:
            pattern = rf"(?<!\w){re.escape(name)}(?!\w)"
            if found := [m.span() for m in re.finditer(pattern, lowered)]:
                spans[name], meant[name] = found, character

    def inside_a_longer_name(name: str) -> bool:
        longer = [
            span for other, found in spans.items() if len(other) > len(name) for span in found
        ]
        return all(any(a <= i and j <= b for a, b in longer) for i, j in spans[name])

    return [character for name, character in meant.items() if not inside_a_longer_name(name)]


def character_create(
    *, owner: User, name: str, clip: File[bytes], team: Team | None = None
) -> Character:
    """Check the clip (a short MP4 that decodes), take a poster frame, store both.

    ``team`` None keeps the character to its owner; its members see and use a team's.
    """
    permissions.check_create_in(owner, team)
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise ValidationError(
            {
                "name": ValidationError(
                    "A character needs a name of 1 to 80 characters.", code="invalid_value"
                )
            }
        )
    try:
        info = probe.video_probe(
            clip, max_bytes=catalog.MAX_CHARACTER_BYTES, max_seconds=catalog.MAX_CHARACTER_SECONDS
        )
        if info.duration < catalog.MIN_CHARACTER_SECONDS:
            raise ValidationError(
                f"The clip is {info.duration:.1f} s long; a character clip needs at least "
                f"{catalog.MIN_CHARACTER_SECONDS:g} s (2 to 4 s works best).",
                code="too_short",
            )
        poster = probe.video_poster(clip, at=info.duration / 2)
    except ValidationError as exc:
        raise ValidationError({"video": exc}) from None
    character = Character(
        owner=owner,
        name=name,
        team=team,
        duration=info.duration,
        width=info.width,
        height=info.height,
    )
    try:
        with transaction.atomic():
            character.save()
            character.clip.save("clip.mp4", clip, save=False)
            character.poster.save("poster.png", ContentFile(poster), save=False)
            character.save(update_fields=["clip", "poster"])
    except BaseException:
        storage_delete([f.name for f in (character.clip, character.poster) if f.name])
        raise
    return character


def character_can_delete(*, character: Character, user: User) -> bool:
    return permissions.can_delete_character(user, character)


def character_delete(*, character: Character, actor: User) -> None:
    if not character_can_delete(character=character, user=actor):
        raise PermissionDenied(
            "Only the character's creator, an admin of its team or staff can delete it."
        )
    names = [f.name for f in (character.clip, character.poster) if f.name]
    with transaction.atomic():
        character.delete()
        transaction.on_commit(lambda: storage_delete(names))
