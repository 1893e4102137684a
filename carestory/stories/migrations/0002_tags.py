"""The starting tag vocabulary: aspects of care (polarity from the question) and feelings."""

from django.db import migrations

ASPECTS = [
    ("staff-attitude", "Staff attitude"),
    ("communication", "Communication"),
    ("information", "Information and explanations"),
    ("waiting-times", "Waiting times"),
    ("appointments", "Getting an appointment"),
    ("treatment", "Treatment and care"),
    ("pain-management", "Pain management"),
    ("dignity", "Dignity and respect"),
    ("cleanliness", "Cleanliness"),
    ("food", "Food and drink"),
    ("discharge", "Leaving hospital"),
    ("parking", "Parking and access"),
]
FEELINGS = [
    ("grateful", "Grateful", 1),
    ("reassured", "Reassured", 1),
    ("listened-to", "Listened to", 1),
    ("safe", "Safe", 1),
    ("anxious", "Anxious", -1),
    ("frustrated", "Frustrated", -1),
    ("ignored", "Ignored", -1),
    ("upset", "Upset", -1),
    ("confused", "Confused", -1),
]


def add_tags(apps, schema_editor):
    Tag = apps.get_model("stories", "Tag")
    for slug, name in ASPECTS:
        Tag.objects.get_or_create(slug=slug, defaults={"name": name, "group": "aspect", "polarity": 0})
    for slug, name, polarity in FEELINGS:
        Tag.objects.get_or_create(
            slug=slug, defaults={"name": name, "group": "feeling", "polarity": polarity}
        )


class Migration(migrations.Migration):
    dependencies = [("stories", "0001_initial")]
    operations = [migrations.RunPython(add_tags, migrations.RunPython.noop)]
