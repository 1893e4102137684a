"""The synthetic dataset: valid rows, same seed same data, the stated shape, clear, command."""

from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Max, Min, Q

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.lib.postcodes import uk_postcode
from carestory.moderation.models import ProviderReview
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.services.demo import demo_postcodes_load, demo_tree_load
from carestory.services.models import Service
from carestory.stories.models import Story, StoryRevision, StoryService, StoryTag, Tag
from carestory.stories.vocabulary import tags_ensure
from carestory.subscriptions.models import Membership, Subscription
from carestory.synthetic.generate import (
    ANCHOR,
    DOMAIN,
    SyntheticError,
    dataset_digest,
    synthetic_clear,
    synthetic_generate,
    synthetic_marker,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tree() -> None:
    tags_ensure(Tag)
    demo_tree_load()
    demo_postcodes_load()


def test_rows_are_valid_for_every_constraint() -> None:
    summary = synthetic_generate(stories=300, seed=7)
    connection.check_constraints()  # every foreign key points at a row (deferred checks)

    stories = Story.objects.all()
    assert summary.published == 300
    assert stories.published().count() == 300
    assert not stories.published().filter(published_at__isnull=True).exists()
    assert stories.count() == summary.stories > 300
    for status in Story.Status.values:
        assert stories.filter(status=status).exists(), status
    assert stories.values("public_id").distinct().count() == stories.count()
    assert stories.values("idempotency_key").distinct().count() == stories.count()
    assert all(len(p) == 10 for p in stories.values_list("public_id", flat=True))
    # Every story is about at least one open service, and has its submitted revision.
    assert not stories.annotate(n=Count("services")).filter(n=0).exists()
    assert not Service.objects.filter(stories__isnull=False, is_open=False).exists()
    assert StoryRevision.objects.filter(kind=StoryRevision.Kind.SUBMITTED).count() == len(stories)
    # Dates: submitted, verified, published in order, all before the anchor.
    for story in stories.exclude(status="awaiting_verification"):
        assert story.verified_at is not None
        assert story.submitted_at <= story.verified_at <= ANCHOR
        if story.published_at is not None:
            assert story.verified_at <= story.published_at <= ANCHOR
    assert not stories.filter(status="awaiting_verification", verified_at__isnull=False).exists()
    assert not stories.filter(status="rejected", rejection_reason="").exists()
    assert ProviderReview.objects.count() == stories.filter(status="provider_review").count()
    # Tags: real tags, polarity -1..1, feelings with their own polarity.
    assert set(StoryTag.objects.values_list("polarity", flat=True)) <= {-1, 1}
    for st in StoryTag.objects.select_related("tag").filter(tag__group=Tag.Group.FEELING):
        assert st.polarity == st.tag.polarity
    # Responses: published ones dated after the story, by a responder of a covering scope.
    published = Response.objects.filter(status=ModerationStatus.PUBLISHED).select_related(
        "story", "responder", "subscription"
    )
    assert published.exists()
    for response in published:
        assert response.published_at is not None
        assert response.story.published_at is not None
        assert response.story.published_at < response.published_at <= ANCHOR
        assert Membership.objects.filter(
            user=response.responder,
            subscription=response.subscription,
            role__in=["responder", "administrator"],
        ).exists()
        scope = list(response.subscription.scope.all())
        paths = [s.path for s in response.story.services.all()]
        assert any(p.startswith(s.path) for s in scope for p in paths)
    assert not AuthorReply.objects.filter(status="published", published_at__isnull=True).exists()
    # Private fields are filled for some stories, never with real-looking addresses.
    assert stories.exclude(postcode="").exists()
    for postcode in stories.exclude(postcode="").values_list("postcode", flat=True):
        parsed = uk_postcode(postcode)  # kept as the story form keeps them: "TS18 1HU"
        assert parsed is not None and parsed.display == postcode
    assert stories.exclude(age_group="").exists()
    assert not User.objects.filter(
        Q(stories__isnull=False) & ~Q(email__endswith=f"@{DOMAIN}")
    ).exists()


def test_same_seed_same_data_and_another_seed_differs() -> None:
    synthetic_generate(stories=150, seed=11)
    first = dataset_digest()
    synthetic_clear()
    assert not Story.objects.exists()
    synthetic_generate(stories=150, seed=11)
    assert dataset_digest() == first
    synthetic_clear()
    synthetic_generate(stories=150, seed=12)
    assert dataset_digest() != first


def test_shape_is_roughly_as_stated() -> None:
    synthetic_generate(stories=3000, seed=5)
    published = Story.objects.published()
    n = published.count()
    # ~70% entirely positive: every tag on the story is positive.
    negative = StoryTag.objects.filter(polarity=-1).values("story")
    positive_share = published.exclude(pk__in=negative).count() / n
    assert 0.64 < positive_share < 0.76
    # ~75% answered with 1 to 3 responses.
    answered = published.filter(responses__status=ModerationStatus.PUBLISHED).distinct().count()
    assert 0.6 < answered / n < 0.9
    per_story = Counter(
        Response.objects.values("story").annotate(n=Count("id")).values_list("n", flat=True)
    )
    assert set(per_story) <= {1, 2, 3}
    assert per_story[1] > per_story[2] > 0
    assert Response.objects.exclude(change=Response.Change.NONE).exists()
    # Several services sometimes (~15%).
    several = published.annotate(k=Count("services")).filter(k__gt=1).count() / n
    assert 0.08 < several < 0.22
    # Ten years, growing: the last year has more than the first.
    span = published.aggregate(first=Min("submitted_at"), last=Max("submitted_at"))
    assert span["last"] - span["first"] > timedelta(days=365 * 9)
    first_year = published.filter(submitted_at__lt=span["first"] + timedelta(days=365)).count()
    last_year = published.filter(submitted_at__gte=ANCHOR - timedelta(days=365)).count()
    assert last_year > 1.5 * first_year
    # Fewer on weekends, per day.
    by_day = Counter(s.weekday() for s in published.values_list("submitted_at", flat=True))
    assert (by_day[5] + by_day[6]) / 2 < (by_day[0] + by_day[1]) / 2
    # Skewed: the busiest service has many times the median.
    counts = sorted(
        StoryService.objects.values("service").annotate(n=Count("id")).values_list("n", flat=True)
    )
    assert counts[-1] > 5 * counts[len(counts) // 2]
    # A moderation queue in proportion (0.2%, at least 5), recent.
    queue = Story.objects.in_moderation()
    assert queue.count() == 6
    assert not queue.filter(submitted_at__lt=ANCHOR - timedelta(days=8)).exists()
    # Staff and subscriptions, South Tees among them.
    assert Subscription.objects.filter(code="SYN-RTR").exists()
    assert User.objects.filter(is_moderator=True, email__endswith=f"@{DOMAIN}").count() == 12


def test_refuses_a_second_dataset_and_clear_removes_only_synthetic_rows() -> None:
    services_before = Service.objects.count()
    other = User.objects.create_user("someone@example.org")
    synthetic_generate(stories=50, seed=1)
    with pytest.raises(SyntheticError, match="--clear"):
        synthetic_generate(stories=50, seed=1)
    marker = synthetic_marker()
    assert marker is not None and marker["stories"] == 50 and marker["seed"] == 1

    removed = synthetic_clear()
    connection.check_constraints()
    assert removed["stories"] > 50
    assert not Story.objects.exists()
    assert not Response.objects.exists()
    assert not Subscription.objects.exists()
    assert not User.objects.filter(email__endswith=f"@{DOMAIN}").exists()
    assert User.objects.filter(pk=other.pk).exists()
    assert Service.objects.count() == services_before
    assert synthetic_marker() is None
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["synthetic.generate", "synthetic.clear"]


def test_command_reports_progress_and_counts() -> None:
    out = io.StringIO()
    call_command("generate_synthetic", "--stories", "40", "--seed", "2", stdout=out)
    text = out.getvalue()
    assert "stories  " in text and "elapsed" in text  # the progress line
    assert "Generated" in text and "(40 published)" in text
    out = io.StringIO()
    call_command("generate_synthetic", "--stories", "30", "--seed", "2", "--clear", stdout=out)
    assert "Removing the earlier synthetic dataset" in out.getvalue()
    assert Story.objects.published().count() == 30


def test_command_without_a_tree_loads_the_demo_slice_and_says_how_to_import() -> None:
    for depth in sorted(set(Service.objects.values_list("depth", flat=True)), reverse=True):
        Service.objects.filter(depth=depth).delete()
    out = io.StringIO()
    call_command("generate_synthetic", "--stories", "20", stdout=out)
    assert "import_ods" in out.getvalue()
    assert Service.objects.filter(code="RTR").exists()
    assert Story.objects.published().count() == 20


def test_bad_arguments_change_nothing() -> None:
    with pytest.raises(SyntheticError):
        synthetic_generate(stories=0, seed=1)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="anchor"):
        call_command("generate_synthetic", "--stories", "5", "--anchor", "yesterday")
    assert not Story.objects.exists()
    assert not User.objects.exists()
