"""Every active responder and administrator heard about every story in their scope before alerts
could be chosen: each gets an "immediately, new stories, whole scope" alert, so nothing changes
for them until they change it."""

from django.db import migrations


def give_story_alerts(apps, schema_editor):
    Alert = apps.get_model("alerts", "Alert")
    Membership = apps.get_model("subscriptions", "Membership")
    memberships = Membership.objects.filter(
        is_active=True,
        subscription__is_active=True,
        user__is_active=True,
        role__in=["responder", "administrator"],
    ).exclude(alerts__isnull=False)
    Alert.objects.bulk_create(
        [
            Alert(membership_id=pk, events=["stories"], frequency="immediate")
            for pk in memberships.values_list("pk", flat=True).iterator()
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
        ("subscriptions", "0002_subscription_safeguarding_email"),
    ]

    operations = [migrations.RunPython(give_story_alerts, migrations.RunPython.noop)]
