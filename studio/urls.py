from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.decorators.http import require_GET

from studio import health
from videos_app.accounts.signin import SignInView
from videos_app.api import views as api_views
from videos_app.jobs import views as jobs_views


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages without an icon link (the admin's)."""
    return HttpResponsePermanentRedirect(static("studio/favicon.svg"))


admin.site.site_header = "studio administration"
admin.site.site_title = "studio admin"

handler400 = "studio.error_pages.bad_request"
handler403 = "studio.error_pages.permission_denied"
handler404 = "studio.error_pages.page_not_found"
handler500 = "studio.error_pages.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Password reset by email, and changing one's own (Django's views, the studio's pages).
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("account/password", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "account/password/changed",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("healthz", health.healthz, name="healthz"),
    path("healthz/ready", health.ready, name="healthz-ready"),
    path("healthz/queue", jobs_views.queue, name="healthz-queue"),
    path("v1/", include("videos_app.api.urls")),
    # The bare base URL answers like any unknown API path (an envelope, not HTML).
    re_path(r"^v1$", api_views.unknown_url),
    path("favicon.ico", favicon),
    path("", include("videos_app.accounts.urls")),
    path("", include("videos_app.webhooks.urls")),
    path("", include("videos_app.urls")),
]
