"""The starting tag vocabulary (see carestory/stories/vocabulary.py)."""

from django.db import migrations

from carestory.stories.vocabulary import tags_ensure


def add_tags(apps, schema_editor):
    tags_ensure(apps.get_model("stories", "Tag"))


class Migration(migrations.Migration):
    dependencies = [("stories", "0001_initial")]
    operations = [migrations.RunPython(add_tags, migrations.RunPython.noop)]
