"""StoryRevision moves to the stories app (issue 9, part 5): stories writes the submitted text and
the author's edits, moderation only its own saves. This side forgets the model in Django's state
only: the table and its rows are not touched here. ``stories/0009_storyrevision_from_moderation``
(which depends on this migration) takes the model into its state and renames the table."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("moderation", "0002_authorquestion_providerreview_storyrevision")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="StoryRevision")],
            database_operations=[],
        ),
    ]
