"""The team settings pages' routes, included by ``videos_app/urls.py``."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("teams/", views.team_list, name="teams"),
    path("teams/<slug:slug>/", views.team_detail, name="team"),
    path("teams/<slug:slug>/cap", views.team_cap, name="team_cap"),
    path(
        "teams/<slug:slug>/members/<int:membership_id>/role",
        views.member_role,
        name="team_member_role",
    ),
    path(
        "teams/<slug:slug>/members/<int:membership_id>/cap",
        views.member_cap,
        name="team_member_cap",
    ),
    path("teams/<slug:slug>/invitations", views.team_invite, name="team_invite"),
    path(
        "teams/<slug:slug>/invitations/<int:invitation_id>/withdraw",
        views.invitation_withdraw,
        name="team_invitation_withdraw",
    ),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path(
        "teams/<slug:slug>/members/<int:membership_id>/remove",
        views.member_remove,
        name="team_member_remove",
    ),
]
