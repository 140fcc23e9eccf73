"""Team settings: my teams, and one team's members with their roles.

Every member of a team (and staff) sees its member list; anyone else gets 404, as for a
video. Team admins and staff add members by username, change roles and remove members;
anyone else who posts gets 403. A team always keeps an admin (teams/services.py).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import permissions
from ..forms import add_service_error
from . import services
from .forms import MemberAddForm, MemberRoleForm
from .models import Membership, Team


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


@login_required
@require_http_methods(["GET", "POST"])
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The member list; a POST adds a member (admins and staff)."""
    team = _team_or_404(request, slug)
    can_manage = permissions.can_manage_team(request.user, team)
    form = MemberAddForm()
    if request.method == "POST":
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
    memberships = list(team.memberships.select_related("user").order_by("user__username"))
    return render(
        request,
        "teams/detail.html",
        {
            "team": team,
            "memberships": memberships,
            "my_role": permissions.role_in(request.user, team),
            "can_manage": can_manage,
            "form": form,
            "roles": Membership.Role.choices,
            "admins": sum(1 for m in memberships if m.role == Membership.Role.ADMIN),
        },
        status=400 if form.errors else 200,
    )


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
