"""Writes to teams and memberships (the team settings page and ``ensureadmin``).

Who may call them is the caller's check (``permissions.can_manage_team``); the rules kept
here are the team's own: a user is in a team once, a team always keeps an admin, a
monthly spend cap is an amount of US dollars and cents (``usage/budgets.py`` applies it),
and an invitation works once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .. import permissions
from ..providers.limits import format_usd
from .models import Invitation, Membership, Team
from .selectors import invitation_token_hash, pending_q

Role = Membership.Role


def _role(role: str) -> str:
    if role not in Role.values:
        raise ValidationError(
            {"role": ValidationError(f"Invalid role: '{role}'.", code="invalid_value")}
        )
    return role


def membership_add(*, team: Team, username: str, role: str) -> Membership:
    """Add an active user by username; ValidationError if unknown or already a member."""
    role = _role(role)
    try:
        user = get_user_model().objects.get(username=username.strip(), is_active=True)
    except get_user_model().DoesNotExist:
        raise ValidationError(
            {"username": ValidationError(f"No user “{username}”.", code="not_found")}
        ) from None
    try:
        with transaction.atomic():
            membership = Membership.objects.create(team=team, user=user, role=role)
    except IntegrityError:
        raise ValidationError(
            {
                "username": ValidationError(
                    f"{user.get_username()} is already in {team}.", code="already_member"
                )
            }
        ) from None
    permissions.forget_roles(user)
    return membership


def _other_admins(membership: Membership) -> bool:
    return (
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


def membership_set_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last admin cannot step down (ValidationError)."""
    role = _role(role)
    with transaction.atomic():
        if membership.role == Role.ADMIN and role != Role.ADMIN and not _other_admins(membership):
            raise ValidationError(
                "A team needs an admin: make someone else admin first.", code="last_admin"
            )
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Remove a member (their videos stay in the team); not the last admin."""
    with transaction.atomic():
        if membership.role == Role.ADMIN and not _other_admins(membership):
            raise ValidationError(
                "A team needs an admin: the last one cannot be removed.", code="last_admin"
            )
        membership.delete()


def teams_left_without_admin(memberships: Iterable[Membership]) -> list[Team]:
    """The teams whose every admin is among ``memberships``: removing them all (or
    demoting them) would leave those teams without an admin."""
    leaving = {m.pk for m in memberships if m.role == Role.ADMIN}
    if not leaving:
        return []
    teams = Team.objects.filter(memberships__pk__in=leaving).distinct().order_by("name")
    return [
        team
        for team in teams
        if not team.memberships.filter(role=Role.ADMIN).exclude(pk__in=leaving).exists()
    ]


def last_admin_refusals(memberships: Iterable[Membership]) -> list[str]:
    """Why deleting these memberships is refused: one line per team it would leave
    without an admin (the admin shows them on its delete confirmation, which then offers
    no "Yes"; the team and user admins both ask)."""
    return [
        f"{team} needs at least one admin: make someone else its admin first."
        for team in teams_left_without_admin(memberships)
    ]


# What the caps' columns hold (max_digits=10, decimal_places=2).
CAP_MAX = Decimal("99999999.99")
CENT = Decimal("0.01")


def _cap(value: Decimal | None) -> Decimal | None:
    """A cap as stored (None: no cap); ValidationError on ``monthly_cap`` otherwise."""
    if value is None:
        return None
    if not value.is_finite():
        problem = "Give the cap in US dollars, such as 50 or 12.50."
    elif value < 0:
        problem = "A cap cannot be negative; leave it blank for no cap."
    elif value > CAP_MAX:
        problem = f"A cap can be at most {format_usd(CAP_MAX)}; leave it blank for no cap."
    elif value != value.quantize(CENT):
        problem = "Give the cap in dollars and cents: at most 2 decimal places."
    else:
        return abs(value.quantize(CENT))  # abs: "-0" is stored as 0.00
    raise ValidationError({"monthly_cap": ValidationError(problem, code="invalid_value")})


def team_cap_set(*, team: Team, cap: Decimal | None) -> Team:
    """Set (or, with None, remove) the team's monthly spend cap; the next create is held
    to it. Videos already made are never stopped: a cap below this month's spend only
    refuses what comes next."""
    team.monthly_cap = _cap(cap)
    team.save(update_fields=["monthly_cap"])
    return team


def membership_cap_set(*, membership: Membership, cap: Decimal | None) -> Membership:
    """Set (or, with None, remove) one member's own monthly cap within the team; the
    team's cap still applies to them as well."""
    membership.monthly_cap = _cap(cap)
    membership.save(update_fields=["monthly_cap"])
    return membership


def team_create(*, name: str, slug: str, admin: User | None = None) -> Team:
    """A team, with ``admin`` as its first admin."""
    with transaction.atomic():
        team = Team.objects.create(name=name, slug=slug)
        if admin is not None:
            Membership.objects.create(team=team, user=admin, role=Role.ADMIN)
    if admin is not None:
        permissions.forget_roles(admin)
    return team


# --- Invitations ------------------------------------------------------------------------
# A token is 32 random bytes (256 bits): guessing one is hopeless, so the accept page
# needs no throttle of its own, and every token that does not work (unknown, used,
# withdrawn, expired) gets the same 404. Only its SHA-256 is stored.

INVITATION_LIFETIME = timedelta(days=7)


class InvitationGone(Exception):
    """The invitation was accepted, withdrawn or expired meanwhile."""


def invitation_create(
    *, team: Team, role: str, created_by: User, email: str = ""
) -> tuple[Invitation, str]:
    """A new invitation and its token: the token is in the link, and nowhere else after
    this call (the caller shows it once or emails it)."""
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        team=team,
        role=_role(role),
        email=email.strip(),
        token_hash=invitation_token_hash(token),
        created_by=created_by,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    return invitation, token


def invitation_email(
    *,
    team: Team,
    role: str,
    email: str,
    created_by: User,
    link_for: Callable[[str], str],
) -> Invitation:
    """Invite ``email`` and send it the link (``link_for(token)``, an absolute URL) by the
    configured email backend. A send that fails leaves no invitation (ValidationError)."""
    try:
        with transaction.atomic():
            invitation, token = invitation_create(
                team=team, role=role, created_by=created_by, email=email
            )
            context = {
                "invitation": invitation,
                "team": team,
                "inviter": created_by,
                "link": link_for(token),
                "days": INVITATION_LIFETIME.days,
            }
            send_mail(
                subject=f"Join {team} on studio",
                message=render_to_string("teams/invitation_email.txt", context),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[invitation.email],
            )
    except OSError as exc:  # SMTP refused or unreachable: say so, keep nothing
        raise ValidationError(
            {"email": ValidationError(f"The email could not be sent: {exc}", code="send_failed")}
        ) from exc
    return invitation


def invitation_withdraw(*, invitation: Invitation) -> bool:
    """End a pending invitation; False if it was accepted, withdrawn or expired already."""
    ended = Invitation.objects.filter(pending_q(), pk=invitation.pk).update(
        withdrawn_at=timezone.now()
    )
    return bool(ended)


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Make ``user`` a member with the invitation's role, using the invitation up.

    The claim is one conditional UPDATE: of two accepts at once, the second finds it
    taken and raises InvitationGone (its transaction, a new account included, rolls
    back). Someone already in the team keeps their role and the invitation stays open
    (ValidationError ``already_member``).
    """
    with transaction.atomic():
        if Membership.objects.filter(team_id=invitation.team_id, user_id=user.pk).exists():
            raise ValidationError(
                f"{user.get_username()} is in {invitation.team} already.", code="already_member"
            )
        claimed = Invitation.objects.filter(pending_q(), pk=invitation.pk).update(
            accepted_at=timezone.now(), accepted_by=user
        )
        if not claimed:
            raise InvitationGone
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    team_id=invitation.team_id, user=user, role=invitation.role
                )
        except IntegrityError:  # joined by another path at the same moment
            raise ValidationError(
                f"{user.get_username()} is in {invitation.team} already.", code="already_member"
            ) from None
    permissions.forget_roles(user)
    return membership


def invitation_accept_new_user(
    *, invitation: Invitation, username: str, email: str, password: str
) -> User:
    """A new account that joins the team by the invitation, in one transaction: if the
    invitation is gone by the time it is claimed, no account is left behind."""
    try:
        with transaction.atomic():
            user: User = get_user_model().objects.create_user(
                username=username, email=email, password=password
            )
            invitation_accept(invitation=invitation, user=user)
    except IntegrityError:  # the same username taken a moment ago
        raise ValidationError(
            {"username": ValidationError("That username is taken.", code="unique")}
        ) from None
    return user
