"""StoryHeard: "heard" is recorded when story alerts are queued; the alert emails already in
the outbox (dedupe key staff-alert:story:<story>:<user>) are recorded once here."""

import django.db.models.deletion
from django.db import migrations, models

_PREFIX = "staff-alert:story:"


def _from_outbox(apps, schema_editor):
    OutboxMessage = apps.get_model("outbox", "OutboxMessage")
    Membership = apps.get_model("subscriptions", "Membership")
    StoryHeard = apps.get_model("workspace", "StoryHeard")
    Story = apps.get_model("stories", "Story")
    rows = OutboxMessage.objects.filter(
        dedupe_key__startswith=_PREFIX, status__in=["pending", "sending", "sent"]
    ).values_list("dedupe_key", "created_at")
    users_of: dict[int, list[tuple[int, object]]] = {}
    for key, at in rows.iterator():
        parts = key[len(_PREFIX) :].split(":")
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            users_of.setdefault(int(parts[1]), []).append((int(parts[0]), at))
    stories = set(Story.objects.values_list("pk", flat=True)) if users_of else set()
    heard = {}
    for user_id, subscription_id in Membership.objects.filter(
        user_id__in=list(users_of)
    ).values_list("user_id", "subscription_id"):
        for story_id, at in users_of[user_id]:
            if story_id in stories:
                heard.setdefault((story_id, subscription_id), at)
    StoryHeard.objects.bulk_create(
        [StoryHeard(story_id=s, subscription_id=sub, heard_at=at) for (s, sub), at in heard.items()],
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('stories', '0009_storyrevision_from_moderation'),
        ('subscriptions', '0003_term_level_profiles_invitations'),
        ('workspace', '0001_initial'),
        ('outbox', '0003_outboxmessage_headers_outboxmessage_refresh'),
    ]

    operations = [
        migrations.CreateModel(
            name='StoryHeard',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('heard_at', models.DateTimeField()),
                ('story', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='stories.story')),
                ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='subscriptions.subscription')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('story', 'subscription'), name='story_heard_once')],
            },
        ),
        migrations.RunPython(_from_outbox, migrations.RunPython.noop),
    ]
