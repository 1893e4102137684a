"""The workspace's tables, and the index of its "most critical first" order on stories."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The workspace's "most critical first" order over published stories, as the keyset walks it
# (workspace/selectors.workspace_page): NULL ratings last on both databases (SQLite sorts
# NULLs first ascending, so last descending, by itself). Raw SQL because the index is on
# stories' table and this app does not own that model.
_CRITICAL_INDEX = "workspace_story_published_critical"


def _create_critical_index(apps, schema_editor):
    nulls = " NULLS LAST" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE INDEX {_CRITICAL_INDEX} ON stories_story "
        f"(criticality DESC{nulls}, published_at DESC, id DESC) WHERE status = 'published'"
    )


def _drop_critical_index(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {_CRITICAL_INDEX}")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('stories', '0009_storyrevision_from_moderation'),
        ('subscriptions', '0002_subscription_safeguarding_email'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AnsweringMarker',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField()),
                ('story', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='stories.story')),
                ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='subscriptions.subscription')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('story', 'user'), name='answering_marker_once')],
            },
        ),
        migrations.CreateModel(
            name='SavedSearch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=80)),
                ('query', models.CharField(max_length=1000)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='saved_searches', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name', 'id'],
                'constraints': [models.UniqueConstraint(fields=('user', 'name'), name='saved_search_name_once')],
            },
        ),
        migrations.CreateModel(
            name='StaffTag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=60)),
                ('slug', models.SlugField(max_length=60)),
                ('visibility', models.CharField(choices=[('private', 'Private (only me)'), ('shared', 'Shared (my organisation)'), ('public', 'Public')], default='private', max_length=10)),
                ('polarity', models.SmallIntegerField(choices=[(1, 'Positive'), (0, 'Neutral'), (-1, 'Negative')], default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('author', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='staff_tags', to=settings.AUTH_USER_MODEL)),
                ('story', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='staff_tags', to='stories.story')),
                ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='subscriptions.subscription')),
            ],
            options={
                'ordering': ['name', 'id'],
                'indexes': [models.Index(fields=['slug', 'visibility', 'story'], name='staff_tag_slug')],
                'constraints': [models.UniqueConstraint(fields=('story', 'subscription', 'author', 'slug', 'visibility'), name='staff_tag_once'), models.CheckConstraint(condition=models.Q(('polarity__in', [-1, 0, 1])), name='staff_tag_polarity')],
            },
        ),
        migrations.CreateModel(
            name='StoryRead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('first_read_at', models.DateTimeField()),
                ('last_read_at', models.DateTimeField()),
                ('story', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='stories.story')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('story', 'user'), name='story_read_once')],
            },
        ),
        migrations.RunPython(_create_critical_index, _drop_critical_index),
    ]
