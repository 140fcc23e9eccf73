"""Signing in: Django's LoginView, with password hashing bounded per process.

Checking a password costs a deliberate ~0.4 s of CPU. Without a bound, a burst of
sign-in attempts held every web thread at once and every other request waited behind
them (``/healthz`` took 18 s). At most ``settings.SIGNIN_CONCURRENCY`` checks run at
once in a process; one more is answered at once with 429 and "try again", instead of
waiting on a thread. Guessing is throttled separately, by django-axes (settings).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

_hashing = threading.BoundedSemaphore(settings.SIGNIN_CONCURRENCY)

BUSY = "Many people are signing in right now. Try again in a few seconds."


class SignInView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _hashing.acquire(blocking=False):
            # An unbound form: validating the posted one would hash the password.
            form = self.get_form_class()(
                request, initial={"username": request.POST.get("username")}
            )
            response = self.render_to_response(self.get_context_data(form=form, busy=BUSY))
            response.status_code = 429
            response["Retry-After"] = "5"
            return response
        try:
            return super().post(request, *args, **kwargs)
        finally:
            _hashing.release()
