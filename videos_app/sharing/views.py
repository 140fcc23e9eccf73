"""Share links: the team's pages (share, list, revoke) and the visitor's (``/s/<token>/``).

Team side: whoever may see a video sees the comments visitors left on it; its editors
(``permissions.can_share``) make, list and revoke links, and take a visitor's comment
down. Anything not visible is a 404, as for a video.

Visitor side: no account and no session. A link that is unknown, revoked or expired is
the studio's 404, whatever is asked of it; so is any video or file it does not show,
however its id was found. A link with a passphrase shows nothing but its form until this
browser gave it (a signed cookie scoped to the link's path).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import permissions
from ..accounts.selectors import time_format_for
from ..forms import add_service_error
from ..http import HtmxHttpRequest, video_or_404
from ..media import stored_file_or_404
from ..models import Team, Video
from ..providers.base import ASSET_VARIANTS
from . import selectors, services
from .forms import GuestCommentForm, PassphraseForm, ShareForm
from .models import SharedComment, ShareLink, ShareUse

# What a link serves of a video: the film and its poster (no spritesheet: nothing asks).
SHARED_VARIANTS = ("video", "thumbnail")
UNLOCK_MAX_AGE = 30 * 24 * 3600


# --- The team's side ------------------------------------------------------------------


def _shareable(request: HttpRequest, ids: list[str]) -> list[Video]:
    """Of these ids, the finished videos this user may share (anything else left out)."""
    videos = permissions.videos_visible_to(request.user).filter(
        pk__in=ids[:100], status=Video.Status.COMPLETED
    )
    return [v for v in videos.select_related("team") if permissions.can_share(request.user, v)]


@login_required
@require_http_methods(["GET", "POST"])
def share_new(request: HttpRequest) -> HttpResponse:
    """The share form for the videos named by ``v`` (the gallery's selection, or a video
    page's "Share"); a POST makes the link and shows it, this once."""
    ids = request.POST.getlist("videos") if request.method == "POST" else request.GET.getlist("v")
    videos = _shareable(request, ids)
    queryset = Video.objects.filter(pk__in=[v.pk for v in videos])
    initial = {"videos": [v.pk for v in videos]}
    form = ShareForm(request.POST or None, videos=queryset, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            link, token = services.share_create(
                user=request.user,
                videos=list(form.cleaned_data["videos"]),
                label=form.cleaned_data["label"],
                passphrase=form.cleaned_data["passphrase"],
                expires_in=form.expires_in(),
                allow_comments=form.cleaned_data["allow_comments"],
                allow_download=form.cleaned_data["allow_download"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            url = request.build_absolute_uri(reverse("videos:share", args=[token]))
            response = render(request, "sharing/created.html", {"link": link, "url": url})
            response["Cache-Control"] = "private, no-store"  # the token's only copy
            return response
    status = 400 if request.method == "POST" else 200
    return render(request, "sharing/new.html", {"form": form, "videos": videos}, status=status)


@login_required
@require_GET
def video_shares(request: HtmxHttpRequest, video_id: str) -> HttpResponse:
    """The video page's share box: its links (for those who may share it) and what
    visitors said through them (for everyone who sees the video)."""
    return _shares_box(request, video_or_404(request, video_id))


def _shares_box(request: HtmxHttpRequest, video: Video) -> HttpResponse:
    can_share = permissions.can_share(request.user, video)
    context = {
        "video": video,
        "can_share": can_share,
        "links": selectors.links_of_video(video) if can_share else [],
        "guest_comments": selectors.comments_via_links(video, time_format_for(request.user)),
        "next": video.get_absolute_url(),
    }
    template = "sharing/video_shares.html"
    return render(request, f"{template}#shares" if request.htmx else template, context)


@login_required
@require_POST
def shared_comment_delete(request: HtmxHttpRequest, video_id: str, comment_id: int) -> HttpResponse:
    """A visitor's comment taken down by the video's editors; the box again (htmx) or
    the video's page."""
    video = video_or_404(request, video_id)
    comment = SharedComment.objects.filter(pk=comment_id, video=video).first()
    if comment is None:
        raise Http404("No such comment.")
    services.shared_comment_delete(user=request.user, comment=comment)
    if request.htmx:
        return _shares_box(request, video)
    return redirect(video.get_absolute_url() + "#video-shares")


@login_required
@require_GET
def team_shares(request: HttpRequest, slug: str) -> HttpResponse:
    """Every link of the team, with their uses: for its editors and admins (and staff)."""
    try:
        team = permissions.teams_visible_to(request.user).get(slug=slug)
    except Team.DoesNotExist:
        raise Http404("No such team.") from None
    if not selectors.can_list_team_links(request.user, team):
        raise PermissionDenied("Only the team's editors and admins see its share links.")
    links = selectors.links_of_team(team)
    context = {"team": team, "links": links, "next": request.path}
    return render(request, "sharing/team_shares.html", context)


@login_required
@require_POST
def share_revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    link = ShareLink.objects.filter(pk=link_id).first()
    if link is None or not selectors.can_manage_link(request.user, link):
        raise Http404("No such link.")
    services.share_revoke(user=request.user, link=link)
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    return redirect(target if safe and target else "videos:gallery")


# --- The visitor's side ---------------------------------------------------------------


def _link_or_404(request: HttpRequest, token: str, *, unlocked: bool = True) -> ShareLink:
    link = selectors.link_for_token(token)
    if link is None or (unlocked and not selectors.is_unlocked(request, link)):
        raise Http404("No such link.")
    return link


def _shared_page(
    request: HttpRequest,
    link: ShareLink,
    token: str,
    *,
    form: GuestCommentForm | None = None,
    form_video: str = "",
    status: int = 200,
) -> HttpResponse:
    videos = list(selectors.shared_videos(link))
    for video in videos:
        video.guest_comments = selectors.guest_comments(link, video)  # type: ignore[attr-defined]
        video.has_form_errors = video.pk == form_video  # type: ignore[attr-defined]
    context = {
        "link": link,
        "token": token,
        "videos": videos,
        "form": form or GuestCommentForm(),
    }
    return _private(render(request, "sharing/shared.html", context, status=status))


def _private(response: HttpResponse) -> HttpResponse:
    """A visitor's page: kept by no cache, listed by no search engine."""
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_GET
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    """What was shared, to anyone with the link; its passphrase form first if it has one."""
    link = _link_or_404(request, token, unlocked=False)
    if not selectors.is_unlocked(request, link):
        return _passphrase_page(request, link, token, PassphraseForm())
    services.use_record(link=link, request=request, kind=ShareUse.Kind.OPENED)
    return _shared_page(request, link, token)


def _passphrase_page(
    request: HttpRequest, link: ShareLink, token: str, form: PassphraseForm, status: int = 200
) -> HttpResponse:
    context = {"link": link, "token": token, "form": form}
    return _private(render(request, "sharing/passphrase.html", context, status=status))


@require_POST
def share_unlock(request: HttpRequest, token: str) -> HttpResponse:
    link = _link_or_404(request, token, unlocked=False)
    if not link.passphrase_hash:
        return redirect("videos:share", token)  # nothing to unlock, nothing to count
    form = PassphraseForm(request.POST)
    if not form.is_valid():
        return _passphrase_page(request, link, token, form, status=400)
    try:
        opened = services.share_unlock(
            link=link, request=request, passphrase=form.cleaned_data["passphrase"]
        )
    except services.Throttled as exc:
        form.add_error(
            None,
            f"Too many wrong passphrases: try again in {exc.seconds} seconds.",
        )
        return _passphrase_page(request, link, token, form, status=429)
    if not opened:
        form.add_error("passphrase", "That is not the passphrase of this link.")
        return _passphrase_page(request, link, token, form, status=400)
    response = redirect("videos:share", token)
    response.set_signed_cookie(
        selectors.unlock_cookie_name(link),
        str(link.pk),
        salt=selectors.unlock_salt(link),
        max_age=UNLOCK_MAX_AGE,
        path=reverse("videos:share", args=[token]),
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return response


@require_POST
def share_comment(request: HttpRequest, token: str, video_id: str) -> HttpResponse:
    """A visitor's comment, with their name; back to the video on the link's page."""
    link = _link_or_404(request, token)
    video = selectors.shared_video(link, video_id)
    if video is None or not link.allow_comments:
        raise Http404("No such video.")
    form = GuestCommentForm(request.POST)
    if form.is_valid():
        try:
            services.shared_comment_create(
                link=link,
                video=video,
                request=request,
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                body=form.cleaned_data["body"],
                at_seconds=form.cleaned_data["at_seconds"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            return redirect(reverse("videos:share", args=[token]) + f"#v-{video.pk}")
    return _shared_page(request, link, token, form=form, form_video=video.pk, status=400)


@require_http_methods(["GET", "HEAD"])
def share_media(request: HttpRequest, token: str, video_id: str, variant: str) -> HttpResponseBase:
    """A shared video's file, with Range; a download only if the link allows it."""
    link = _link_or_404(request, token)
    video = selectors.shared_video(link, video_id)
    if video is None or variant not in SHARED_VARIANTS:
        raise Http404("No such file.")
    download = bool(request.GET.get("download"))
    if download and not link.allow_download:
        raise Http404("This link does not allow downloads.")
    kind = ASSET_VARIANTS[variant]
    name = getattr(video, kind.field).name
    if not name:
        raise Http404("No such file.")
    if download and request.headers.get("Range", "bytes=0-").startswith("bytes=0-"):
        services.use_record(link=link, request=request, kind=ShareUse.Kind.DOWNLOADED, video=video)
    download_name = f"{video.pk}.{kind.extension}" if download else None
    return stored_file_or_404(
        request, name, content_type=kind.content_type, download_name=download_name
    )
