"""The reads of videos and characters that the pages and the API make (each domain's own
reads are in its package's selectors.py)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Exists, F, Lookup, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import permissions, search
from .albums.selectors import collection_filter
from .forms import SORTS
from .models import Character, Favorite, Video, estimate_seconds_left
from .stacks.selectors import stack_card_fields, stack_filter
from .takes.selectors import discarded_filter


def videos_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Video]:
    """The videos a user may see (the rules live in permissions.py)."""
    return permissions.videos_visible_to(user)


def video_gallery(
    *, user: AbstractBaseUser | AnonymousUser, filters: Mapping[str, Any] | None = None
) -> QuerySet[Video]:
    """The gallery's videos for ``filters`` (GalleryFilterForm's cleaned_data; missing
    or empty keys do not filter), each with ``is_favorite`` (the user's star).

    One query per page, whatever the filters and the size of the table.
    """
    f = filters or {}
    user_id: Any = user.pk  # None for an anonymous user, who sees no videos anyway
    videos: QuerySet[Video] = (
        videos_visible_to(user)
        .select_related("owner", "team")
        .annotate(
            is_favorite=Exists(Favorite.objects.filter(user_id=user_id, video_id=OuterRef("pk")))
        )
    )
    exact = {
        "status": "status",
        "model": "model",
        "size": "size",
        "seconds": "seconds",
        "operation": "operation",
        "review": "review_state",
        "creator": "owner__username",
        "team": "team__slug",
    }
    for key, lookup in exact.items():
        if f.get(key) not in (None, ""):
            videos = videos.filter(**{lookup: f[key]})
    if f.get("favorites"):
        videos = videos.filter(_favorite_of(videos.db, user_id))
    videos = discarded_filter(videos, discarded=bool(f.get("discarded")))
    if collection_id := f.get("collection"):
        videos = collection_filter(videos, user=user, collection_id=collection_id)
    # A collection shows the versions picked into it, not only each stack's latest.
    every = bool(f.get("versions") or f.get("collection"))
    videos = stack_card_fields(stack_filter(videos, every=every))
    # Dates are whole days in the current time zone, both ends included.
    if start := f.get("from"):
        videos = videos.filter(created_at__gte=_day_start(start))
    if end := f.get("to"):
        videos = videos.filter(created_at__lt=_day_start(end + timedelta(days=1)))
    if text := f.get("q"):
        videos = search.filter_prompts(videos, text)
    _, ordering = SORTS.get(f.get("sort") or "newest", SORTS["newest"])
    if ordering[0] == "-review_changed_at":
        # Never-reviewed videos last, on every database.
        return videos.order_by(F("review_changed_at").desc(nulls_last=True), *ordering[1:])
    return videos.order_by(*ordering)


# Past this many favorites, a page of them walks the gallery's order (see _FavoriteOf).
MANY_FAVORITES = 2_000


def _favorite_of(alias: str, user_id: Any) -> _FavoriteOf:
    lookup = _FavoriteOf(F("pk"), user_id)
    if connections[alias].vendor == "sqlite":
        # SQLite cannot tell the two cases apart: ask the favorites' index (under a ms).
        many = Favorite.objects.using(alias).filter(user_id=user_id)[: MANY_FAVORITES + 1]
        lookup.walk = many.count() > MANY_FAVORITES
    return lookup


class _FavoriteOf(Lookup):
    """The video is one of a user's favorites, written for the query it is in.

    A count starts from the user's favorites and looks each one up by id (the
    ``video_id_visible`` index answers the visibility rule without reading the row); on
    PostgreSQL as ``= ANY(ARRAY(...))``, because its planner otherwise hashed every visible
    video to join them (63 ms against 17 for 4,500 favorites at 100,000 videos). A page of
    a user with many favorites (``walk``) walks the gallery's order and checks each video
    for a star, stopping at a page, instead of sorting every favorite (SQLite: 13 ms
    against 0.4 for those 4,500); with few it starts from them. PostgreSQL's planner
    makes that choice itself from its statistics.
    """

    lookup_name = "studio_favorite_of"
    prepare_rhs = False
    walk = False

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        column = compiler.quote_name(self.lhs.target.column)
        video = f"{compiler.quote_name(self.lhs.alias)}.{column}"
        table = compiler.quote_name(Favorite._meta.db_table)
        ordered = bool(compiler.query.order_by)
        # Constant SQL (names) around one parameter, the user's id.
        favorites = f"SELECT video_id FROM {table} WHERE user_id = %s"  # noqa: S608
        if self.walk and ordered:
            sql = f"EXISTS ({favorites} AND video_id = {video})"
        elif connection.vendor == "postgresql" and not ordered:
            sql = f"{video} = ANY(ARRAY({favorites}))"
        else:
            sql = f"{video} IN ({favorites})"
        return sql, (self.rhs,)


GALLERY_PAGE_SIZE = 24
# The gallery counts its matches up to here and then says "10,000+": an exact count
# visits every matching row, which is what made a broad filter grow with the table.
GALLERY_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class GalleryPage:
    """One page of the gallery: at most ``size`` videos, and the matches counted up to
    ``count_limit`` (``count`` is ``count_limit + 1`` when there are more).

    Pages are positions among the videos made up to ``asof`` (the moment the first page
    was read, carried by the pager), so a video made meanwhile neither pushes a card onto
    the next page again nor hides one: it shows when the gallery is read afresh.
    """

    object_list: list[Video]
    number: int
    count: int
    count_limit: int
    size: int
    asof: datetime
    has_next: bool

    @property
    def count_is_bounded(self) -> bool:
        return self.count > self.count_limit

    @property
    def count_text(self) -> str:
        """``26`` or ``10,000+``."""
        if self.count_is_bounded:
            return f"{self.count_limit:,}+"
        return f"{self.count:,}"

    @property
    def num_pages(self) -> int | None:
        """None when the count is bounded (the last page is not known)."""
        if self.count_is_bounded:
            return None
        return max(1, -(-self.count // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def asof_token(self) -> str:
        """``asof`` for a URL: microseconds since the epoch."""
        return str(int(self.asof.timestamp() * 1_000_000))


def _parse_asof(value: str | None, now: datetime) -> datetime:
    """The pager's anchor, or ``now`` when it is missing, malformed or in the future."""
    try:
        micros = int(value or "")
        moment = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return now
    return min(moment, now)


def _parse_page(value: str | None) -> int:
    try:
        return max(1, min(1_000_000, int(value or "1")))
    except ValueError:
        return 1


def gallery_page(
    videos: QuerySet[Video],
    *,
    page: str | None = None,
    asof: str | None = None,
    size: int = GALLERY_PAGE_SIZE,
    count_limit: int | None = None,
) -> GalleryPage:
    """Page ``page`` of ``videos`` (video_gallery's queryset) as of ``asof`` (see
    GalleryPage): two queries, the bounded count and the page (one row more than a page,
    to know whether another follows), whatever the size of the table."""
    limit = GALLERY_COUNT_LIMIT if count_limit is None else count_limit
    moment = _parse_asof(asof, timezone.now())
    if asof:
        # Wrapped so that no planner starts from the created_at index for a condition
        # nearly every row meets (it did, and sorted every match of "recently reviewed").
        videos = videos.alias(made=Coalesce("created_at", "created_at")).filter(made__lte=moment)
    count = _bounded_count(videos, limit)
    number = _parse_page(page)
    if count <= limit:  # an exact count: a page past the end is the last one
        number = min(number, max(1, -(-count // size)))
    start = (number - 1) * size
    rows = list(videos[start : start + size + 1])
    return GalleryPage(
        object_list=rows[:size],
        number=number,
        count=count,
        count_limit=limit,
        size=size,
        asof=moment,
        has_next=len(rows) > size,
    )


def _bounded_count(videos: QuerySet[Video], limit: int) -> int:
    """The matches of ``videos`` counted up to ``limit + 1``.

    PostgreSQL counts without parallel workers: it splits a search's count (a bitmap heap
    scan of up to 10,001 matches) over two, which then wait for the cores the other
    requests are using: with the machine busy, serial took half the time (19 ms against
    37 for a common word at 100,000 videos). ``SET LOCAL`` ends with the transaction.
    """
    counted = videos.order_by().values("pk")[: limit + 1]
    if connections[videos.db].vendor != "postgresql":
        return counted.count()
    with (
        transaction.atomic(using=videos.db, savepoint=False),
        connections[videos.db].cursor() as cursor,
    ):
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        return counted.count()


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def video_get(*, user: AbstractBaseUser | AnonymousUser, video_id: str) -> Video:
    """The video, or Video.DoesNotExist if it is unknown or not visible to the user."""
    return videos_visible_to(user).select_related("owner").get(pk=video_id)


# What a poll shows, and what paces the next one (polling.poll_delay).
PROGRESS_FIELDS = (
    "id", "status", "progress", "started_at", "size", "created_at", "seconds", "provider",
)  # fmt: skip


@functools.cache
def _progress_sql(alias: str) -> str:
    """The ORM's own SQL for the progress read, compiled once per database.

    Compiling a queryset costs about 180 us, fifteen times the query itself, and the
    poll runs this one every second for every open job page (see bench/bench_web.py).
    """
    queryset = Video.objects.using(alias).filter(pk="%s").values_list(*PROGRESS_FIELDS)
    sql, params = queryset.query.sql_with_params()
    assert params == ("%s",)
    return sql


@dataclass(frozen=True, slots=True)
class JobProgress:
    """The columns a progress poll shows (a model instance costs more than the query)."""

    pk: str
    status: str
    progress: int
    started_at: datetime | None
    size: str
    created_at: datetime
    seconds: int
    provider: str

    @property
    def is_finished(self) -> bool:
        return self.status in Video.FINISHED_STATUSES

    def get_status_display(self) -> str:
        return str(Video.Status(self.status).label)

    def seconds_left(self, now: datetime) -> int | None:
        return estimate_seconds_left(self.status, self.progress, self.started_at, now)


def video_progress(*, video_id: str) -> JobProgress:
    """Only what a progress poll shows, in one light query (the poll is the hottest path).

    Visibility was checked when the poll's token was issued (see polling.py).
    Raises Video.DoesNotExist.
    """
    alias = router.db_for_read(Video)
    with connections[alias].cursor() as cursor:
        cursor.execute(_progress_sql(alias), [video_id])
        row = cursor.fetchone()
    if row is None:
        raise Video.DoesNotExist(video_id)
    pk, status, progress, started, size, created, seconds, provider = row
    return JobProgress(
        pk=pk,
        status=status,
        progress=progress,
        started_at=_aware(started),
        size=size,
        created_at=_aware(created) or timezone.now(),
        seconds=seconds,
        provider=provider,
    )


def _aware(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):  # SQLite hands back text
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def video_progress_many(
    *, user: AbstractBaseUser | AnonymousUser, video_ids: Iterable[str]
) -> list[Video]:
    """Several videos as the gallery's cards show them, in one query (for polling)."""
    ids = list(video_ids)[:100]
    return list(video_gallery(user=user, filters={"versions": True}).filter(pk__in=ids))


def characters_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Character]:
    """Characters a user may see and use (the rules live in permissions.py)."""
    return permissions.characters_visible_to(user)


def video_characters(
    *, user: AbstractBaseUser | AnonymousUser, video: Video
) -> tuple[list[Character], int]:
    """The characters ``video`` used that ``user`` may see (by name), and how many others
    (one query)."""
    visible = characters_visible_to(user).filter(pk=OuterRef("pk"))
    used = list(
        Character.objects.filter(videos=video)
        .annotate(visible=Exists(visible))
        .order_by("name", "pk")
    )
    shown: list[Character] = [c for c in used if c.visible]
    return shown, len(used) - len(shown)


def character_get(*, user: AbstractBaseUser | AnonymousUser, character_id: str) -> Character:
    return characters_visible_to(user).select_related("owner").get(pk=character_id)


def video_lineage(*, user: AbstractBaseUser | AnonymousUser, video: Video) -> list[Video]:
    """The chain from the first source down to ``video`` (oldest first), visible steps only.

    Each step is one query; chains are short (an extension chain holds at most seven).
    """
    chain = [video]
    seen = {video.pk}
    current = video
    while current.source_id and current.source_id not in seen and len(chain) < 50:
        try:
            current = videos_visible_to(user).select_related("owner").get(pk=current.source_id)
        except Video.DoesNotExist:
            break
        chain.append(current)
        seen.add(current.pk)
    return list(reversed(chain))


def video_derivatives(*, user: AbstractBaseUser | AnonymousUser, video: Video) -> list[Video]:
    return list(
        videos_visible_to(user).filter(source=video).select_related("owner").order_by("created_at")
    )
