"""StoryRevision moved from the moderation app to stories (migrations ``moderation/0003`` and
``stories/0009``): a revision written before the move is there after it, in the renamed table,
with its content type; and back again when the two migrations are reversed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from carestory.stories.models import StoryRevision
from tests.factories import StoryFactory

BEFORE = [
    ("stories", "0008_story_findings"),
    ("moderation", "0002_authorquestion_providerreview_storyrevision"),
]
AFTER = [("stories", "0009_storyrevision_from_moderation")]


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    ContentType.objects.clear_cache()


def _migrate_all() -> None:
    """Every app to its latest migration: going back to BEFORE also unapplied the migrations
    of other apps that depend on it (alerts, workspace, ...), and the tests after this one need
    their tables."""
    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())


def _revision_tables() -> list[str]:
    return sorted(t for t in connection.introspection.table_names() if "storyrevision" in t)


@pytest.mark.django_db(transaction=True)
def test_a_revision_written_before_the_move_is_kept() -> None:
    story = StoryFactory()
    content_type = ContentType.objects.get_for_model(StoryRevision)
    _migrate(BEFORE)
    try:
        assert _revision_tables() == ["moderation_storyrevision"]
        assert ContentType.objects.get(pk=content_type.pk).app_label == "moderation"
        created = connection.ops.adapt_datetimefield_value(datetime(2026, 1, 1, tzinfo=UTC))
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO moderation_storyrevision"
                " (story_id, kind, editor_id, title, body, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [story.pk, "submitted", story.author_id, "Before", "Written before", created],
            )
    finally:
        _migrate(AFTER)  # the move itself
        _migrate_all()
    assert _revision_tables() == ["stories_storyrevision"]
    kept = StoryRevision.objects.get(story=story)
    assert (kept.kind, kept.editor_id, kept.title, kept.body) == (
        StoryRevision.Kind.SUBMITTED,
        story.author_id,
        "Before",
        "Written before",
    )
    assert kept.created_at == datetime(2026, 1, 1, tzinfo=UTC)
    # The id sequence moved with the table: a new row follows the old one.
    new = StoryRevision.objects.create(story=story, kind="author_edit", title="After", body="b")
    assert new.pk > kept.pk
    assert ContentType.objects.get_for_model(StoryRevision).pk == content_type.pk
