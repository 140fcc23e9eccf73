"""Who may do what: teams, roles and visibility, in one place.

A video belongs to its creator and (unless it has none) to one team. Staff see and may
do everything. Otherwise:

- **see** (pages, media, fragments, /v1): the creator; and every member of the video's
  team unless the creator keeps it private. Anything else answers 404, never 403.
- **comment, favorite**: whoever can see it.
- **review** (change the review state): editors and admins of the video's team; the
  creator of a video that has no team.
- **approve** (and reopen an approved version): of those who review, the approvers named
  for the video's stack, or the team's admins while it names none. Team admins name them.
- **locked**: an approved version is deleted and changed by nobody, staff included, until
  an approver reopens it; comments, favorites and share links stay open.
- **share** (a link for people outside the team): whoever may review it.
- **delete**: the creator, and admins of the video's team.
- **create in a team**: its editors and admins. Anyone signed in can create a video of
  their own with no team.

A user's roles are read once per request and kept on the user object.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from .models import Character, Membership, StackApprover, Team, Video

Role = Membership.Role
CREATE_ROLES = (Role.ADMIN, Role.EDITOR)
REVIEW_ROLES = (Role.ADMIN, Role.EDITOR)
# A stack deeper than this (only a hand-edited ``source`` loop could be) stops the walk.

AnyUser = AbstractBaseUser | AnonymousUser


def is_staff(user: AnyUser) -> bool:
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def team_roles(user: AnyUser) -> dict[int, str]:
    """{team id: role} for the user's teams, read once per user object."""
    if not user.is_authenticated:
        return {}
    cached: dict[int, str] | None = getattr(user, "_studio_team_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user_id=user.pk).values_list("team_id", "role"))
        user._studio_team_roles = cached  # type: ignore[attr-defined]
    return cached


def forget_roles(user: AnyUser) -> None:
    """Drop the roles kept on this user object (after changing memberships)."""
    if hasattr(user, "_studio_team_roles"):
        del user._studio_team_roles


def role_in(user: AnyUser, team: Team | int | None) -> str | None:
    if team is None:
        return None
    team_id = team if isinstance(team, int) else team.pk
    return team_roles(user).get(team_id)


def _team_ids(user: AnyUser) -> list[int] | QuerySet[Membership, int]:
    """The user's team ids: the kept roles if read already, else a subquery, so that a
    listing costs no query of its own for the memberships."""
    cached: dict[int, str] | None = getattr(user, "_studio_team_roles", None)
    if cached is not None:
        return list(cached)
    user_id: Any = user.pk
    return Membership.objects.filter(user_id=user_id).values_list("team_id", flat=True)


def _visible_q(user: AnyUser) -> Q:
    return Q(owner_id=user.pk) | Q(team_id__in=_team_ids(user), visibility=Video.Visibility.TEAM)


def videos_visible_to(user: AnyUser) -> QuerySet[Video]:
    """Every video the user may see (see the module docstring)."""
    if not user.is_authenticated:
        return Video.objects.none()
    if is_staff(user):
        return Video.objects.all()
    return Video.objects.filter(_visible_q(user))


def can_view_video(user: AnyUser, video: Video) -> bool:
    if not user.is_authenticated:
        return False
    if is_staff(user) or video.owner_id == user.pk:
        return True
    return video.visibility == Video.Visibility.TEAM and role_in(user, video.team_id) is not None


def can_comment(user: AnyUser, video: Video) -> bool:
    return can_view_video(user, video)


def can_review(user: AnyUser, video: Video) -> bool:
    if not can_view_video(user, video):
        return False
    if is_staff(user):
        return True
    if video.team_id is None:
        return video.owner_id == user.pk
    return role_in(user, video.team_id) in REVIEW_ROLES


def is_locked(video: Video) -> bool:
    """An approved version is locked: no delete, no state change but an approver's reopen."""
    return video.review_state == Video.ReviewState.APPROVED


def stack_root_id(video: Video) -> str:
    """The key of ``video``'s stack (stacks/): its first video's id, kept after that video
    is deleted; a video saved before stacks existed is a stack of its own."""
    return video.stack_root_id or video.pk


def stack_approver_ids(video: Video) -> frozenset[int]:
    """The ids of the approvers named for the video's stack, read once per video object."""
    cached: frozenset[int] | None = getattr(video, "_studio_approver_ids", None)
    if cached is None:
        named = StackApprover.objects.filter(root_id=stack_root_id(video))
        cached = frozenset(named.values_list("user_id", flat=True))
        video._studio_approver_ids = cached  # type: ignore[attr-defined]
    return cached


def can_approve(user: AnyUser, video: Video) -> bool:
    """May the user approve the version, or reopen it once approved? Of those who review
    it, the stack's named approvers, or the team's admins while none is named; staff; the
    creator of a video with no team."""
    if not can_review(user, video):
        return False
    if is_staff(user) or video.team_id is None:
        return True
    named = stack_approver_ids(video)
    if named:
        return user.pk in named
    return role_in(user, video.team_id) == Role.ADMIN


def can_name_approvers(user: AnyUser, video: Video) -> bool:
    """Team admins (and staff) name who approves a stack; a video with no team has none."""
    if video.team_id is None or not can_view_video(user, video):
        return False
    return is_staff(user) or role_in(user, video.team_id) == Role.ADMIN


def can_share(user: AnyUser, video: Video) -> bool:
    """May the user show the video to people outside the team by a share link? Whoever
    may review it: the team's editors and admins, the creator of a video with no team."""
    return can_review(user, video)


def can_delete(user: AnyUser, video: Video) -> bool:
    if not can_view_video(user, video):
        return False
    if is_staff(user) or video.owner_id == user.pk:
        return True
    return role_in(user, video.team_id) == Role.ADMIN


def can_create_in(user: AnyUser, team: Team | int | None) -> bool:
    """May the user create videos in this team (None: a video of their own, no team)?"""
    if not user.is_authenticated:
        return False
    if team is None:
        return True
    return is_staff(user) or role_in(user, team) in CREATE_ROLES


def teams_for_create(user: AnyUser) -> QuerySet[Team]:
    """Teams the user may create videos in, by name."""
    if not user.is_authenticated:
        return Team.objects.none()
    if is_staff(user):
        return Team.objects.all()
    ids = [team_id for team_id, role in team_roles(user).items() if role in CREATE_ROLES]
    return Team.objects.filter(pk__in=ids)


def default_team(user: AnyUser) -> Team | None:
    """The team a new video goes to when none is named (the API, an old form): the
    oldest membership the user may create in; None when there is none."""
    if not user.is_authenticated:
        return None
    membership = (
        Membership.objects.filter(user_id=user.pk, role__in=CREATE_ROLES)
        .select_related("team")
        .order_by("created_at", "pk")
        .first()
    )
    return membership.team if membership else None


def can_manage_team(user: AnyUser, team: Team) -> bool:
    return is_staff(user) or role_in(user, team) == Role.ADMIN


def teams_visible_to(user: AnyUser) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    if is_staff(user):
        return Team.objects.all()
    return Team.objects.filter(pk__in=_team_ids(user))


def characters_visible_to(user: AnyUser) -> QuerySet[Character]:
    """Characters a user may see and use: their own and their teams'."""
    if not user.is_authenticated:
        return Character.objects.none()
    if is_staff(user):
        return Character.objects.all()
    return Character.objects.filter(Q(owner_id=user.pk) | Q(team_id__in=_team_ids(user)))


def characters_named_by(user: AnyUser) -> QuerySet[Character]:
    """Characters a prompt of this user can bring in by name: their own and their teams'.

    Staff too: staff may pick anyone's character by id, but a prompt's words mean the
    caller's own cast, not every character on the studio."""
    if not user.is_authenticated:
        return Character.objects.none()
    return Character.objects.filter(Q(owner_id=user.pk) | Q(team_id__in=_team_ids(user)))


def can_delete_character(user: AnyUser, character: Character) -> bool:
    if is_staff(user) or character.owner_id == user.pk:
        return True
    return role_in(user, character.team_id) == Role.ADMIN


def teammates_of(user: AnyUser, team: Team | int | None) -> QuerySet[Any]:
    """Members of ``team`` (for @mentions), if the user belongs to it (or is staff)."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    if team is None or not (is_staff(user) or role_in(user, team) is not None):
        return users.none()
    team_id = team if isinstance(team, int) else team.pk
    return users.filter(memberships__team_id=team_id, is_active=True)


def approver_candidates(team: Team | int | None) -> QuerySet[Any]:
    """Who may be named an approver of a stack in ``team``: its editors and admins."""
    from django.contrib.auth import get_user_model

    if team is None:
        return get_user_model().objects.none()
    team_id = team if isinstance(team, int) else team.pk
    return (
        get_user_model()
        .objects.filter(
            memberships__team_id=team_id, memberships__role__in=REVIEW_ROLES, is_active=True
        )
        .order_by("username")
    )


def team_for_derivative(user: AnyUser, source: Video) -> Team | None:
    """The team a remix, extension or edit of ``source`` goes into.

    The source's team when the user may create there; a video of the user's own (no
    team) when the source has no team, or when it is the user's own video in a team they
    may no longer create in. Anyone else (a viewer of the team) may not derive from it:
    PermissionDenied. A derivative never moves into another team, so a team's work is
    never shown to a team that could not see the source.
    """
    from django.core.exceptions import PermissionDenied

    if source.team_id is None:
        return None
    if can_create_in(user, source.team_id):
        return source.team
    if source.owner_id == user.pk:
        return None
    raise PermissionDenied("Viewers of this video's team cannot remix, extend or edit it.")


def can_derive(user: AnyUser, source: Video) -> bool:
    """May the user remix, extend or edit ``source`` (see team_for_derivative)?"""
    if not can_view_video(user, source):
        return False
    return (
        source.team_id is None or source.owner_id == user.pk or can_create_in(user, source.team_id)
    )


def check_create_in(user: AnyUser, team: Team | None) -> None:
    """PermissionDenied unless the user may create in ``team`` (None: their own)."""
    from django.core.exceptions import PermissionDenied

    if not can_create_in(user, team):
        raise PermissionDenied(f"You cannot create in the team “{team}”: editors and admins can.")
