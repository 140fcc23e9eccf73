"""Full-text search over prompts, on PostgreSQL and on SQLite.

- **PostgreSQL**: ``to_tsvector('english', prompt) @@ websearch_to_tsquery(...)`` with a
  GIN expression index built from the very same expression (so the planner uses it).
  ``websearch_to_tsquery`` accepts anything a person types: it never raises.
- **SQLite**: an FTS5 table ``video_prompt_fts`` (porter stemming, like the English
  configuration) whose rowid is the video row's rowid, kept in sync by three triggers.
  User input is never handed to FTS5's query language as is: it is cut into words and
  quoted phrases, each quoted, so quotes, ``*``, ``NEAR(``, ``col:`` cannot break it.

Both understand the same small language: words (all must match), ``"a phrase"``,
``-word`` (must not match) and ``or`` between words.

Django remakes a SQLite table to alter it, which drops its triggers and renumbers its
rowids; ``ensure_sqlite_index`` (run by migration 0005 and after every ``migrate``)
puts the triggers back and rebuilds the index whenever they are missing.

The gallery's "recently reviewed" order (never-reviewed videos last) has its index here
too, for the same reason: Django cannot declare it for both databases (SQLite refuses
``NULLS LAST`` in an index, where DESC already puts NULLs last; PostgreSQL needs it), so
migration 0012 makes it and ``ensure_sqlite_index`` puts it back after a remake.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Lookup, QuerySet
from django.db.models.sql.compiler import SQLCompiler

from .models import Video

FTS_TABLE = "video_prompt_fts"
PG_INDEX = "video_prompt_search"
PG_CONFIG = "english"
_TRIGGERS = ("video_fts_insert", "video_fts_delete", "video_fts_update")

# Constant SQL (no user input): the FTS5 table, its triggers, and a full rebuild, which is
# needed after Django remade the video table (new rowids, triggers gone).
_FTS_SETUP = (
    "DROP TRIGGER IF EXISTS video_fts_insert",
    "DROP TRIGGER IF EXISTS video_fts_delete",
    "DROP TRIGGER IF EXISTS video_fts_update",
    "CREATE VIRTUAL TABLE IF NOT EXISTS video_prompt_fts "
    "USING fts5(prompt, tokenize = 'porter unicode61')",
    "CREATE TRIGGER video_fts_insert AFTER INSERT ON videos_app_video BEGIN "
    "INSERT INTO video_prompt_fts(rowid, prompt) VALUES (new.rowid, new.prompt); END",
    "CREATE TRIGGER video_fts_delete AFTER DELETE ON videos_app_video BEGIN "
    "DELETE FROM video_prompt_fts WHERE rowid = old.rowid; END",
    "CREATE TRIGGER video_fts_update AFTER UPDATE OF prompt ON videos_app_video BEGIN "
    "DELETE FROM video_prompt_fts WHERE rowid = old.rowid; "
    "INSERT INTO video_prompt_fts(rowid, prompt) VALUES (new.rowid, new.prompt); END",
    "DELETE FROM video_prompt_fts",
    "INSERT INTO video_prompt_fts(rowid, prompt) SELECT rowid, prompt FROM videos_app_video",
)
REVIEWED_INDEX = "video_reviewed"
_REVIEWED_COLUMNS = {
    "sqlite": "review_changed_at DESC, created_at DESC, id DESC",
    "postgresql": "review_changed_at DESC NULLS LAST, created_at DESC, id DESC",
}
_FTS_ROWIDS = "SELECT rowid FROM video_prompt_fts WHERE video_prompt_fts MATCH %s"

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_WORD = re.compile(r"\w+")


def has_words(text: str) -> bool:
    """Whether a search holds anything to look for (a letter or a digit)."""
    return bool(_WORD.search(text))


def _pg_vector() -> Any:
    from django.contrib.postgres.search import SearchVector

    return SearchVector("prompt", config=PG_CONFIG)


def filter_prompts(queryset: QuerySet[Video], text: str) -> QuerySet[Video]:
    """The videos of ``queryset`` whose prompt matches the search ``text``."""
    vendor = connections[queryset.db].vendor
    if vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery

        query = SearchQuery(text, search_type="websearch", config=PG_CONFIG)
        return queryset.alias(prompt_search=_pg_vector()).filter(prompt_search=query)
    if vendor == "sqlite":
        clauses = fts5_clauses(text)
        if not clauses:
            return queryset
        lookup = _FtsMatch(F("pk"), clauses)
        lookup.common = _is_common(queryset.db, clauses)
        return queryset.filter(lookup)
    # Any other database: every word somewhere in the prompt.
    for word in _WORD.findall(text):
        queryset = queryset.filter(prompt__icontains=word)
    return queryset


# Past this many matching prompts, a search walks the gallery's order (see _FtsMatch).
COMMON_MATCHES = 2_000


def _is_common(alias: str, clauses: list[tuple[str, str]]) -> bool:
    """Whether the search matches more than COMMON_MATCHES prompts (or excludes only):
    one bounded count in the FTS5 index, under a millisecond at 100,000 videos."""
    positives = [positive for positive, _ in clauses if positive]
    if len(positives) < len(clauses):
        return True  # "-word" alone matches nearly everything
    counts = " + ".join(
        f"(SELECT count(*) FROM (SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s "  # noqa: S608
        f"LIMIT {COMMON_MATCHES + 1}))"
        for _ in positives
    )
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT {counts}", positives)
        (matches,) = cursor.fetchone()
    return bool(matches > COMMON_MATCHES)


class _FtsMatch(Lookup):
    """``rowid IN (rows the FTS5 table matches)`` for the row of the query's video table.

    The row ids come straight from the FTS5 index (a join back to the video table by id
    cost three to four times as much at 100,000 rows). For a ``common`` search the rowid
    is written ``+rowid`` in an ordered query (a page, not its count), which keeps SQLite
    from starting at the matches: it then walks the gallery's order index and stops at a
    page, instead of sorting every match (a
    word in 1 in 5 prompts: 20,000 rows, 0.5 s at 100,000); a rare one starts at its few
    matches. SQLite's planner cannot tell the two apart (a virtual table has no
    statistics), so ``filter_prompts`` asks the index first. A Lookup, so that SQLite's WHERE
    takes it as it is (another expression would be compared with ``= 1``, which hides the
    rowid condition from the planner), and its left side, the video's primary key column,
    carries the table's alias, right inside a subquery too (``pk__in=``).
    """

    lookup_name = "studio_fts_match"
    prepare_rhs = False
    common = False

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[str | int, ...]]:
        # Only where the query is ordered (a page): a count is cheapest from the matches.
        walk = self.common and bool(compiler.query.order_by)
        rowid = ("+" if walk else "") + f"{compiler.quote_name(self.lhs.alias)}.rowid"
        parts: list[str] = []
        params: list[str] = []
        for positive, negative in self.rhs:
            if positive:
                parts.append(f"{rowid} IN ({_FTS_ROWIDS})")
                params.append(f"({positive}) NOT ({negative})" if negative else positive)
            else:  # only exclusions: everything else matches
                parts.append(f"{rowid} NOT IN ({_FTS_ROWIDS})")
                params.append(negative)
        return "(" + " OR ".join(parts) + ")", tuple(params)


def _phrase(text: str) -> str:
    """One FTS5 phrase of the words of ``text`` (none of its punctuation), or ''."""
    words = _WORD.findall(text)
    return '"' + " ".join(words) + '"' if words else ""


def fts5_clauses(text: str) -> list[tuple[str, str]]:
    """The search as FTS5 clauses, any of which may match (``or`` splits them, binding
    looser than the implied AND, as in PostgreSQL's websearch): each clause is (what
    must match, what must not), safe FTS5 expressions; either may be ''."""
    clauses: list[tuple[list[str], list[str]]] = [([], [])]
    for match in _TOKEN.finditer(text):
        minus = match.group(1) or match.group(3)
        raw = match.group(2) if match.group(2) is not None else match.group(4)
        if match.group(4) is not None and raw.lower() == "or" and not minus:
            if clauses[-1] != ([], []):
                clauses.append(([], []))
            continue
        phrase = _phrase(raw)
        if phrase:
            clauses[-1][1 if minus else 0].append(phrase)
    return [
        (" AND ".join(positive), " OR ".join(negative))
        for positive, negative in clauses
        if positive or negative
    ]


def ensure_sqlite_index(connection: BaseDatabaseWrapper) -> None:
    """Create (or repair) the FTS5 table and its triggers on a SQLite database."""
    if connection.vendor != "sqlite":
        return
    table = Video._meta.db_table
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return  # migrated backwards, or not yet this far
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
        )
        present = {row[0] for row in cursor.fetchall()}
        cursor.execute(_reviewed_index_sql("sqlite"))
        if present >= set(_TRIGGERS):
            return
        for statement in _FTS_SETUP:
            cursor.execute(statement)


def _reviewed_index_sql(vendor: str) -> str:
    table = Video._meta.db_table
    return f"CREATE INDEX IF NOT EXISTS {REVIEWED_INDEX} ON {table} ({_REVIEWED_COLUMNS[vendor]})"


def install_reviewed_index(apps: Any, schema_editor: Any) -> None:
    """Migration step: the index of the "recently reviewed" order (see the docstring)."""
    vendor = schema_editor.connection.vendor
    if vendor in _REVIEWED_COLUMNS:
        schema_editor.execute(_reviewed_index_sql(vendor))


def uninstall_reviewed_index(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {REVIEWED_INDEX}")


def install(apps: Any, schema_editor: Any) -> None:
    """Migration step: the search index of whichever database this is."""
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        ensure_sqlite_index(connection)
    elif connection.vendor == "postgresql":
        from django.contrib.postgres.indexes import GinIndex

        schema_editor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
        schema_editor.add_index(Video, GinIndex(_pg_vector(), name=PG_INDEX))


def uninstall(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        for name in _TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
