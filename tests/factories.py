"""factory_boy factories with traits, and the story draft builder, shared by every app's tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from carestory.accounts.models import User
from carestory.moderation.models import AuthorQuestion, ProviderReview
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.services.models import Service
from carestory.services.services import service_create
from carestory.stories.models import Story, StoryService
from carestory.stories.services import StoryDraft
from carestory.subscriptions.models import Membership, Subscription

TEST_PASSWORD = "a long test password 4 staff"


def story_draft(*, email: str, services: Sequence[Service], **others: Any) -> StoryDraft:
    """What an author sends from the tell-your-story form: the required answers, consent
    given; ``others`` sets any other field of ``StoryDraft`` or replaces an answer."""
    fields: dict[str, Any] = {
        "screen_name": "Grateful patient",
        "author_role": "patient",
        "title": "Kind nurses",
        "body": "The nurses on the ward were kind.",
        "consent": True,
        **others,
    }
    return StoryDraft(email=email, services=services, **fields)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    email_verified_at = factory.LazyFunction(timezone.now)

    class Params:
        moderator = factory.Trait(is_moderator=True, full_name="Mo Derator")
        staff = factory.Trait(
            full_name=factory.Sequence(lambda n: f"Staff Member {n}"), job_title="Ward manager"
        )

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if extracted:
            obj.set_password(extracted)
        elif obj.is_moderator or obj.full_name:
            obj.set_password(TEST_PASSWORD)
        else:
            obj.set_unusable_password()
        if create:
            obj.save()


class ServiceFactory(factory.django.DjangoModelFactory[Service]):
    class Meta:
        model = Service
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"T{n:04d}")
    name = factory.Sequence(lambda n: f"Test Service {n}")
    kind = Service.Kind.DEPARTMENT
    parent = None

    @classmethod
    def _create(cls, model_class: type[Service], *args: Any, **kwargs: Any) -> Service:
        return service_create(**kwargs)


class SubscriptionFactory(factory.django.DjangoModelFactory[Subscription]):
    class Meta:
        model = Subscription
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.Sequence(lambda n: f"Test Trust {n}")

    @factory.post_generation
    def scope(
        obj: Subscription, create: bool, extracted: list[Service] | None, **kwargs: Any
    ) -> None:
        if create and extracted:
            obj.scope.set(extracted)


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, staff=True)
    subscription = factory.SubFactory(SubscriptionFactory)
    role = Membership.Role.RESPONDER

    @factory.post_generation
    def alerts(obj: Membership, create: bool, extracted: object, **kwargs: object) -> None:
        """As in the product (add_staff, an accepted invitation), a responder or administrator
        starts with "new stories, immediately, the whole scope"; ``alerts=False`` for none."""
        if create and extracted is not False:
            from carestory.alerts.services import alert_default_create

            alert_default_create(membership=obj)


class StoryFactory(factory.django.DjangoModelFactory[Story]):
    class Meta:
        model = Story
        skip_postgeneration_save = True

    author = factory.SubFactory(UserFactory)
    screen_name = "Grateful patient"
    author_role = "patient"
    original_title = factory.Sequence(lambda n: f"Story title {n}")
    original_body = "The nurses were kind and explained everything."
    title = factory.LazyAttribute(lambda o: o.original_title)
    body = factory.LazyAttribute(lambda o: o.original_body)
    consent_given_at = factory.LazyFunction(timezone.now)
    consent_version = "test"
    idempotency_key = factory.LazyFunction(uuid.uuid4)
    status = Story.Status.IN_MODERATION
    verified_at = factory.LazyFunction(timezone.now)

    class Params:
        published = factory.Trait(
            status=Story.Status.PUBLISHED,
            published_at=factory.LazyFunction(timezone.now),
            criticality=1,
        )
        rejected = factory.Trait(status=Story.Status.REJECTED, rejection_reason="duplicate")
        withdrawn = factory.Trait(
            status=Story.Status.WITHDRAWN, withdrawn_at=factory.LazyFunction(timezone.now)
        )
        unverified = factory.Trait(status=Story.Status.AWAITING_VERIFICATION, verified_at=None)
        # One trait named after each status, so that StoryFactory(**{status: True}) makes a
        # story in any state, as the services leave it (tests/test_visibility.py goes through
        # every state; a new status needs its trait here).
        awaiting_verification = factory.Trait(unverified=True)
        in_moderation = factory.Trait(status=Story.Status.IN_MODERATION)
        awaiting_author = factory.Trait(  # a moderator asked a question (story_ask_author)
            status=Story.Status.AWAITING_AUTHOR,
            question=factory.RelatedFactory(
                "tests.factories.AuthorQuestionFactory", factory_related_name="story"
            ),
        )
        provider_review = factory.Trait(  # approved, with the provider for 72 hours
            status=Story.Status.PROVIDER_REVIEW,
            criticality=1,
            moderated_by=factory.SubFactory(UserFactory, moderator=True),
            approved_at=factory.LazyFunction(timezone.now),
            provider_review_due_at=factory.LazyAttribute(
                lambda o: o.approved_at + timedelta(hours=72)
            ),
            review=factory.RelatedFactory(
                "tests.factories.ProviderReviewFactory",
                factory_related_name="story",
                due_at=factory.SelfAttribute("..provider_review_due_at"),
            ),
        )
        held = factory.Trait(  # safeguarding: held for a senior moderator
            status=Story.Status.HELD, safeguarding_level=2, urgent=True
        )

    @factory.post_generation
    def services(obj: Story, create: bool, extracted: list[Service] | None, **kwargs: Any) -> None:
        if create and extracted:
            StoryService.objects.bulk_create(
                [StoryService(story=obj, service=s) for s in extracted]
            )


class AuthorQuestionFactory(factory.django.DjangoModelFactory[AuthorQuestion]):
    class Meta:
        model = AuthorQuestion

    story = factory.SubFactory(StoryFactory, awaiting_author=True, question=None)
    moderator = factory.SubFactory(UserFactory, moderator=True)
    question = "Which ward were you on?"


class ProviderReviewFactory(factory.django.DjangoModelFactory[ProviderReview]):
    class Meta:
        model = ProviderReview

    story = factory.SubFactory(StoryFactory, provider_review=True, review=None)
    due_at = factory.LazyAttribute(lambda o: o.story.provider_review_due_at)


class ResponseFactory(factory.django.DjangoModelFactory[Response]):
    class Meta:
        model = Response
        skip_postgeneration_save = True

    story = factory.SubFactory(StoryFactory, published=True)
    responder = factory.SubFactory(UserFactory, staff=True)
    subscription = factory.SubFactory(SubscriptionFactory)
    responder_name = factory.LazyAttribute(lambda o: o.responder.full_name)
    responder_job_title = "Ward manager"
    original_body = "Thank you for your story."
    body = factory.LazyAttribute(lambda o: o.original_body)
    idempotency_key = factory.LazyFunction(uuid.uuid4)
    status = ModerationStatus.IN_MODERATION

    class Params:
        published = factory.Trait(
            status=ModerationStatus.PUBLISHED, published_at=factory.LazyFunction(timezone.now)
        )


class ReplyFactory(factory.django.DjangoModelFactory[AuthorReply]):
    class Meta:
        model = AuthorReply
        skip_postgeneration_save = True

    response = factory.SubFactory(ResponseFactory, published=True)
    author = factory.LazyAttribute(lambda o: o.response.story.author)
    original_body = "Thank you for replying."
    body = factory.LazyAttribute(lambda o: o.original_body)
    idempotency_key = factory.LazyFunction(uuid.uuid4)
