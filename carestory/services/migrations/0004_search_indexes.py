"""Indexes for service search (see docs/search.md).

- Both databases: a (latitude, longitude) B-tree index for the "near a postcode" bounding box.
- PostgreSQL only: the pg_trgm extension and a GIN trigram index on search_text (substring
  LIKE and word_similarity "<%" both use it).
- SQLite only: an FTS5 table over search_text (external content: it stores only the index)
  kept in step by triggers on insert, update and delete.

The SQL is written out here rather than imported, so this migration means the same thing
forever; carestory.services.search.search_index_ensure() holds the same statements and puts
back anything a later table rebuild dropped (SQLite drops triggers when Django remakes a
table). Not declared in Service.Meta because most of it cannot be expressed per-database there.
"""

from django.db import migrations

LAT_LON_INDEX = (
    "CREATE INDEX IF NOT EXISTS services_service_lat_lon "
    "ON services_service (latitude, longitude)"
)

POSTGRESQL_FORWARDS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS services_service_search_trgm "
    "ON services_service USING gin (search_text gin_trgm_ops)",
]
POSTGRESQL_BACKWARDS = [
    "DROP INDEX IF EXISTS services_service_search_trgm",
    # The extension stays: something else may use it, and dropping it needs more rights.
]

SQLITE_FORWARDS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS services_service_fts USING fts5("
    "search_text, content='services_service', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TRIGGER IF NOT EXISTS services_service_fts_ai AFTER INSERT ON services_service "
    "BEGIN INSERT INTO services_service_fts(rowid, search_text) "
    "VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS services_service_fts_ad AFTER DELETE ON services_service "
    "BEGIN INSERT INTO services_service_fts(services_service_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS services_service_fts_au "
    "AFTER UPDATE OF search_text ON services_service "
    "BEGIN INSERT INTO services_service_fts(services_service_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO services_service_fts(rowid, search_text) "
    "VALUES (new.id, new.search_text); END",
    "INSERT INTO services_service_fts(services_service_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS services_service_fts_ai",
    "DROP TRIGGER IF EXISTS services_service_fts_ad",
    "DROP TRIGGER IF EXISTS services_service_fts_au",
    "DROP TABLE IF EXISTS services_service_fts",
]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, [LAT_LON_INDEX])
    if vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_FORWARDS)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_FORWARDS)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_BACKWARDS)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARDS)
    _run(schema_editor, ["DROP INDEX IF EXISTS services_service_lat_lon"])


class Migration(migrations.Migration):
    dependencies = [
        ("services", "0003_postcodes"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
