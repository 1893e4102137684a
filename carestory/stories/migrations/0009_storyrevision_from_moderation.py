"""StoryRevision moves here from the moderation app (issue 9, part 5), keeping every row.

1. The model enters Django's state with the table it already has (``moderation_storyrevision``,
   created by ``moderation/0002``); nothing is done to the database.
   ``moderation/0003_storyrevision_to_stories``, on which this depends, has already dropped it
   from moderation's state, so at no point do two models claim one table.
2. ``AlterModelTable(table=None)`` renames the table to the default ``stories_storyrevision``
   (``ALTER TABLE ... RENAME TO``, on SQLite and PostgreSQL alike: the rows, the id sequence,
   the indexes and the foreign keys stay; the indexes and constraints keep their old names).
   We rename rather than pin ``Meta.db_table = "moderation_storyrevision"``: a table named after
   the app that no longer owns it would mislead anyone reading the schema or writing SQL, and
   nothing outside the ORM names it (the page cache's PRIVATE_TABLES is updated with the move).
3. The content type (and so its permissions) moves with the model: without this, Django would
   create a new ``stories.storyrevision`` content type and leave the old one stale.

Backwards, each step is undone in reverse order: the table is renamed back."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _move_content_type(apps, from_label, to_label):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if ContentType.objects.filter(app_label=to_label, model="storyrevision").exists():
        return
    ContentType.objects.filter(app_label=from_label, model="storyrevision").update(
        app_label=to_label
    )


def content_type_forwards(apps, schema_editor):
    _move_content_type(apps, "moderation", "stories")


def content_type_backwards(apps, schema_editor):
    _move_content_type(apps, "stories", "moderation")


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0008_story_findings"),
        ("moderation", "0003_storyrevision_to_stories"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StoryRevision",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("submitted", "Submitted by the author"),
                                    ("author_edit", "Edited by the author"),
                                    ("moderator_edit", "Edited by a moderator"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("title", models.CharField(max_length=200)),
                        ("body", models.TextField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "editor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "story",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="revisions",
                                to="stories.story",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["created_at", "id"],
                        "db_table": "moderation_storyrevision",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="StoryRevision", table=None),
        migrations.RunPython(content_type_forwards, content_type_backwards),
    ]
