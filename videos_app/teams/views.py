"""Team settings: my teams, and one team's members with their roles and spend caps.

Every member of a team (and staff) sees its member list and this month's spend against
the caps; anyone else gets 404, as for a video. Team admins and staff add members by
username, change roles, set the team's and each member's monthly spend cap and remove
members; anyone else who posts gets 403. A team always keeps an admin (teams/services.py).

They also invite people (by email, or with a one-time link shown once) and withdraw
pending invitations. Whoever holds a working link joins on ``/invite/<token>/``: signed
out, by making an account there; signed in, with the account they have. Any link that
does not work answers the same 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import permissions
from ..forms import add_service_error
from ..providers.limits import format_usd
from ..usage import budgets
from . import selectors, services
from .forms import (
    CapForm,
    InvitationForm,
    InvitationSignUpForm,
    MemberAddForm,
    MemberCapForm,
    MemberRoleForm,
)
from .models import Invitation, Membership, Team


def _team_or_404(request: HttpRequest, slug: str) -> Team:
    try:
        return permissions.teams_visible_to(request.user).get(slug=slug)
    except Team.DoesNotExist:
        raise Http404("No such team.") from None


def _membership_or_404(team: Team, membership_id: int) -> Membership:
    try:
        return team.memberships.select_related("user").get(pk=membership_id)
    except Membership.DoesNotExist:
        raise Http404("No such member.") from None


def _require_manager(request: HttpRequest, team: Team) -> None:
    if not permissions.can_manage_team(request.user, team):
        raise PermissionDenied("Only the team's admins (and staff) can change its members.")


@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    """The user's teams (staff: every team), with their role and the number of members."""
    roles = permissions.team_roles(request.user)
    rows = (
        permissions.teams_visible_to(request.user)
        .annotate(member_count=Count("memberships"))
        .order_by("name")
    )
    teams = [{"team": team, "role": roles.get(team.pk)} for team in rows]
    return render(request, "teams/list.html", {"teams": teams})


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    spend: budgets.Spend  # this month's, against the member's own cap
    cap_form: MemberCapForm


def _detail_page(
    request: HttpRequest,
    team: Team,
    *,
    form: MemberAddForm | None = None,
    cap_form: CapForm | None = None,
    member_cap_form: tuple[int, MemberCapForm] | None = None,
    invite_form: InvitationForm | None = None,
    new_link: str = "",
) -> HttpResponse:
    """The team page; a refused form (400) is shown where it was posted from. ``new_link``:
    a one-time link just made, shown in this response only."""
    form = form or MemberAddForm()
    can_manage = permissions.can_manage_team(request.user, team)
    invite_form = invite_form or InvitationForm()
    cap_form = cap_form or CapForm(initial={"monthly_cap": team.monthly_cap}, auto_id="team-%s")
    memberships = list(team.memberships.select_related("user").order_by("user__username"))
    by_owner = budgets.spend_by_owner(team_id=team.pk)
    rows = []
    for m in memberships:
        if member_cap_form and member_cap_form[0] == m.pk:
            row_form = member_cap_form[1]
        else:
            row_form = MemberCapForm(
                initial={"monthly_cap": m.monthly_cap}, auto_id=f"member-{m.pk}-%s"
            )
        spend = budgets.Spend(spent=by_owner.get(m.user_id, Decimal(0)), cap=m.monthly_cap)
        rows.append(MemberRow(m, spend, row_form))
    refused = bool(form.errors or cap_form.errors or member_cap_form or invite_form.errors)
    response = render(
        request,
        "teams/detail.html",
        {
            "team": team,
            "members": rows,
            "my_role": permissions.role_in(request.user, team),
            "can_manage": can_manage,
            "form": form,
            "invite_form": invite_form,
            "invitations": selectors.pending_invitations(team) if can_manage else [],
            "new_link": new_link,
            "cap_form": cap_form,
            "budget": budgets.Spend(spent=sum(by_owner.values(), Decimal(0)), cap=team.monthly_cap),
            "roles": Membership.Role.choices,
            "admins": sum(1 for m in memberships if m.role == Membership.Role.ADMIN),
        },
        status=400 if refused else 200,
    )
    if new_link:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The member list; a POST adds a member (admins and staff)."""
    team = _team_or_404(request, slug)
    if request.method == "GET":
        return _detail_page(request, team)
    _require_manager(request, team)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = services.membership_add(
                team=team,
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                f"{membership.user.get_username()} joined {team} as "
                f"{membership.get_role_display().lower()}.",
            )
            return redirect("videos:team", slug=team.slug)
    return _detail_page(request, team, form=form)


def _cap_saved(request: HttpRequest, whose: str, cap: Decimal | None) -> None:
    if cap is None:
        messages.success(request, f"{whose} no monthly spend cap now.")
    else:
        messages.success(request, f"{whose} a monthly spend cap of {format_usd(cap)} now.")


@login_required
@require_POST
def team_cap(request: HttpRequest, slug: str) -> HttpResponse:
    """Set or clear the team's monthly spend cap (admins and staff)."""
    team = _team_or_404(request, slug)
    _require_manager(request, team)
    form = CapForm(request.POST, auto_id="team-%s")
    if form.is_valid():
        try:
            services.team_cap_set(team=team, cap=form.cleaned_data["monthly_cap"])
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            _cap_saved(request, f"{team} has", team.monthly_cap)
            return redirect(f"{reverse('videos:team', args=[team.slug])}#budget")
    return _detail_page(request, team, cap_form=form)


@login_required
@require_POST
def member_cap(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    """Set or clear one member's own monthly spend cap (admins and staff)."""
    team = _team_or_404(request, slug)
    _require_manager(request, team)
    membership = _membership_or_404(team, membership_id)
    form = MemberCapForm(request.POST, auto_id=f"member-{membership.pk}-%s")
    if form.is_valid():
        try:
            services.membership_cap_set(membership=membership, cap=form.cleaned_data["monthly_cap"])
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            _cap_saved(request, f"{membership.user.get_username()} has", membership.monthly_cap)
            return redirect(f"{reverse('videos:team', args=[team.slug])}#member-{membership.pk}")
    return _detail_page(request, team, member_cap_form=(membership.pk, form))


def _back_with_error(request: HttpRequest, team: Team, exc: ValidationError) -> HttpResponseBase:
    for message in exc.messages:
        messages.error(request, message)
    return redirect("videos:team", slug=team.slug)


@login_required
@require_POST
def member_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponseBase:
    team = _team_or_404(request, slug)
    _require_manager(request, team)
    membership = _membership_or_404(team, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _back_with_error(request, team, ValidationError("Choose admin, editor or viewer."))
    try:
        services.membership_set_role(membership=membership, role=form.cleaned_data["role"])
    except ValidationError as exc:
        return _back_with_error(request, team, exc)
    permissions.forget_roles(request.user)
    messages.success(
        request,
        f"{membership.user.get_username()} is now {membership.get_role_display().lower()}.",
    )
    return redirect("videos:team", slug=team.slug)


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, slug: str, membership_id: int) -> HttpResponseBase:
    """GET asks to confirm; POST removes the member (their videos stay in the team)."""
    team = _team_or_404(request, slug)
    _require_manager(request, team)
    membership = _membership_or_404(team, membership_id)
    if request.method == "GET":
        context = {
            "team": team,
            "membership": membership,
            "videos": team.videos.filter(owner_id=membership.user_id).count(),
            "is_self": membership.user_id == request.user.pk,
        }
        return render(request, "teams/member_remove.html", context)
    try:
        services.membership_remove(membership=membership)
    except ValidationError as exc:
        return _back_with_error(request, team, exc)
    messages.success(request, f"{membership.user.get_username()} left {team}.")
    if membership.user_id == request.user.pk and not permissions.is_staff(request.user):
        return redirect("videos:teams")  # they no longer see the team
    return redirect("videos:team", slug=team.slug)


# --- Invitations ------------------------------------------------------------------------


def _accept_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("videos:invitation_accept", args=[token]))


@login_required
@require_POST
def team_invite(request: HttpRequest, slug: str) -> HttpResponse:
    """Invite by email (the link is sent) or make a one-time link (shown once)."""
    team = _team_or_404(request, slug)
    _require_manager(request, team)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, team, invite_form=form)
    role = form.cleaned_data["role"]
    if form.cleaned_data["kind"] == "link":
        _invitation, token = services.invitation_create(
            team=team,
            role=role,
            created_by=request.user,  # type: ignore[arg-type]
        )
        return _detail_page(request, team, new_link=_accept_url(request, token))
    try:
        invitation = services.invitation_email(
            team=team,
            role=role,
            email=form.cleaned_data["email"],
            created_by=request.user,  # type: ignore[arg-type]
            link_for=lambda token: _accept_url(request, token),
        )
    except ValidationError as exc:
        add_service_error(form, exc)
        return _detail_page(request, team, invite_form=form)
    messages.success(
        request,
        f"Invitation sent to {invitation.email} ({invitation.get_role_display().lower()}).",
    )
    return redirect(f"{reverse('videos:team', args=[team.slug])}#invitations")


@login_required
@require_POST
def invitation_withdraw(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    team = _team_or_404(request, slug)
    _require_manager(request, team)
    try:
        invitation = team.invitations.get(pk=invitation_id)
    except Invitation.DoesNotExist:
        raise Http404("No such invitation.") from None
    if services.invitation_withdraw(invitation=invitation):
        messages.success(request, f"Withdrew the invitation ({invitation.email or 'link'}).")
    else:
        messages.error(request, "That invitation was used or had ended already.")
    return redirect(f"{reverse('videos:team', args=[team.slug])}#invitations")


def _joined(request: HttpRequest, membership_team: Team, role: str) -> HttpResponse:
    messages.success(request, f"Welcome to {membership_team}: you joined as {role.lower()}.")
    return redirect("videos:team", slug=membership_team.slug)


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation's page: who invites you where, as what; join with a new account
    (signed out) or the one you are signed in with. 404 for any link that does not work."""
    invitation = selectors.invitation_pending(token)
    if invitation is None:
        raise Http404("This invitation link does not work.")
    team, role = invitation.team, invitation.get_role_display()
    signed_in = request.user.is_authenticated
    form = None
    if not signed_in:
        form = InvitationSignUpForm(
            request.POST if request.method == "POST" else None,
            initial={"email": invitation.email},
        )
    if request.method == "POST":
        try:
            if signed_in:
                services.invitation_accept(invitation=invitation, user=request.user)  # type: ignore[arg-type]
                return _joined(request, team, role)
            assert form is not None
            if form.is_valid():
                try:
                    user = services.invitation_accept_new_user(
                        invitation=invitation,
                        username=form.cleaned_data["username"],
                        email=form.cleaned_data["email"],
                        password=form.cleaned_data["password1"],
                    )
                except ValidationError as exc:
                    form.add_error(None, exc)  # under the field it names
                else:
                    login(request, user, backend="videos_app.auth.CachedModelBackend")
                    return _joined(request, team, role)
        except services.InvitationGone:
            raise Http404("This invitation link does not work.") from None
        except ValidationError as exc:  # already a member: the invitation stays open
            messages.info(request, " ".join(exc.messages))
            return redirect("videos:team", slug=team.slug)
    response = render(
        request,
        "teams/invitation_accept.html",
        {"invitation": invitation, "team": team, "role": role, "form": form},
        status=400 if form is not None and form.errors else 200,
    )
    response["Cache-Control"] = "no-store"
    return response
