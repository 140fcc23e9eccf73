"""The usage line's totals (``VideoTotal``), kept by triggers on the video table.

A video counts once in the row of its (creator, team, visibility): its cost in
ten-thousandths of a dollar (the estimate's precision, so sums stay exact on SQLite too),
and whether it is unpriced (no estimate, not the free local renderer; as
``selectors.UNPRICED``). Insert adds, delete takes away, and a change of any of those
columns moves the video from its old row to its new one. Triggers rather than
``save()``: the job pipeline changes estimates with ``update()`` and the admin deletes in
bulk, which no signal sees.

Django remakes a SQLite table to alter it, which drops its triggers (as for search.py):
``ensure_sqlite_triggers`` runs after every ``migrate`` and, when the triggers are
missing, puts them back and recounts every row.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

VIDEO_TABLE = "videos_app_video"
TOTAL_TABLE = "videos_app_videototal"
_SQLITE_TRIGGERS = ("video_total_insert", "video_total_delete", "video_total_update")
# The columns a total depends on; a change of any other leaves the totals alone.
_WATCHED = "owner_id, team_id, visibility, cost_estimate, provider"


def _cost(row: str, vendor: str) -> str:
    if vendor == "postgresql":
        return f"round(coalesce({row}.cost_estimate, 0) * 10000)::bigint"
    return f"CAST(round(coalesce({row}.cost_estimate, 0) * 10000) AS INTEGER)"


def _unpriced(row: str) -> str:
    return (
        f"(CASE WHEN {row}.cost_estimate IS NULL AND {row}.provider <> 'local' THEN 1 ELSE 0 END)"
    )


# Every statement below is built from this module's constants alone (no input): S608.
def _add(row: str, vendor: str) -> str:
    return (
        f"INSERT INTO {TOTAL_TABLE} (owner_id, team_key, visibility, videos, cost_e4, unpriced) "  # noqa: S608
        f"VALUES ({row}.owner_id, coalesce({row}.team_id, 0), {row}.visibility, 1, "
        f"{_cost(row, vendor)}, {_unpriced(row)}) "
        "ON CONFLICT (owner_id, team_key, visibility) DO UPDATE SET "
        f"videos = {TOTAL_TABLE}.videos + 1, "
        f"cost_e4 = {TOTAL_TABLE}.cost_e4 + excluded.cost_e4, "
        f"unpriced = {TOTAL_TABLE}.unpriced + excluded.unpriced;"
    )


def _take(row: str, vendor: str) -> str:
    return (
        f"UPDATE {TOTAL_TABLE} SET videos = videos - 1, "  # noqa: S608
        f"cost_e4 = cost_e4 - {_cost(row, vendor)}, unpriced = unpriced - {_unpriced(row)} "
        f"WHERE owner_id = {row}.owner_id AND team_key = coalesce({row}.team_id, 0) "
        f"AND visibility = {row}.visibility;"
    )


def _recount(connection: BaseDatabaseWrapper) -> list[str]:
    """Every row counted again (when first installed, and after the triggers were lost)."""
    return [
        f"DELETE FROM {TOTAL_TABLE}",  # noqa: S608
        f"INSERT INTO {TOTAL_TABLE} (owner_id, team_key, visibility, videos, cost_e4, unpriced) "  # noqa: S608
        f"SELECT v.owner_id, coalesce(v.team_id, 0), v.visibility, count(*), "
        f"sum({_cost('v', connection.vendor)}), sum({_unpriced('v')}) FROM {VIDEO_TABLE} v "
        "GROUP BY v.owner_id, coalesce(v.team_id, 0), v.visibility",
    ]


def _sqlite_setup() -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_TRIGGERS),
        f"CREATE TRIGGER video_total_insert AFTER INSERT ON {VIDEO_TABLE} BEGIN "
        f"{_add('new', 'sqlite')} END",
        f"CREATE TRIGGER video_total_delete AFTER DELETE ON {VIDEO_TABLE} BEGIN "
        f"{_take('old', 'sqlite')} END",
        f"CREATE TRIGGER video_total_update AFTER UPDATE OF {_WATCHED} ON {VIDEO_TABLE} BEGIN "
        f"{_take('old', 'sqlite')} {_add('new', 'sqlite')} END",
    ]


_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION video_total_apply() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    {_take("OLD", "postgresql")}
  END IF;
  IF TG_OP <> 'DELETE' THEN
    {_add("NEW", "postgresql")}
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
_PG_SETUP = (
    _PG_FUNCTION,
    f"DROP TRIGGER IF EXISTS video_total_change ON {VIDEO_TABLE}",
    f"CREATE TRIGGER video_total_change AFTER INSERT OR DELETE OR UPDATE OF {_WATCHED} "
    f"ON {VIDEO_TABLE} FOR EACH ROW EXECUTE FUNCTION video_total_apply()",
)


def ensure_sqlite_triggers(connection: BaseDatabaseWrapper) -> None:
    """Put the triggers back (and recount) on a SQLite database that lost them."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if VIDEO_TABLE not in tables or TOTAL_TABLE not in tables:
            return  # migrated backwards, or not yet this far
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [VIDEO_TABLE],
        )
        if {row[0] for row in cursor.fetchall()} >= set(_SQLITE_TRIGGERS):
            return
        for statement in [*_sqlite_setup(), *_recount(connection)]:
            cursor.execute(statement)


def install(apps: Any, schema_editor: Any) -> None:
    """Migration step: the triggers of whichever database this is, and a first count."""
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        statements = [*_sqlite_setup(), *_recount(connection)]
    elif connection.vendor == "postgresql":
        statements = [*_PG_SETUP, *_recount(connection)]
    else:
        raise NotImplementedError(f"usage totals need triggers on {connection.vendor}")
    for statement in statements:
        schema_editor.execute(statement, params=None)


def uninstall(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        for name in _SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS video_total_change ON {VIDEO_TABLE}")
        schema_editor.execute("DROP FUNCTION IF EXISTS video_total_apply()")
