"""Telling a story: submit, verify the email, edit while in moderation, withdraw.

What a story may be (a title, a body within the limits, an anonymous screen name, a UK postcode,
consent, an open service) is checked here and only here (``story_draft_check``), with the
messages the author reads, keyed by the story form's field names; the form checks only types.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from carestory.accounts.models import SignInToken, User
from carestory.accounts.services import (
    author_get_or_create,
    sign_in_token_issue,
    sign_in_token_redeem,
)
from carestory.automod import Finding, analyse
from carestory.automod.findings import findings_key, findings_to_json
from carestory.lib.emails import email_problem, normalise_email
from carestory.lib.errors import ConflictError, NotAllowed, Problems
from carestory.lib.idempotency import create_once
from carestory.lib.postcodes import MAX_STORED, PARSERS, Problem, parse
from carestory.lib.screen_names import screen_name_problem
from carestory.lib.text import normalise_text, word_count
from carestory.lib.tokens import secret_link
from carestory.lib.urls import absolute_url
from carestory.outbox.services import email_enqueue, job_enqueue
from carestory.pagecache.invalidation import bump as page_cache_bump
from carestory.services.models import Service
from carestory.services.selectors import services_by_codes
from carestory.stories.lifecycle import (
    can_author_edit,
    story_transition,
    story_update_keeping_state,
)
from carestory.stories.models import (
    AgeGroup,
    AuthorRole,
    ServiceStoryCounts,
    Story,
    StoryFindings,
    StoryQuerySet,
    StoryRevision,
    StoryService,
    StoryTag,
    Tag,
)


class IdempotencyConflict(ValidationError):
    """The same submission key was used for a different story: the form was sent again with
    another address. Nothing is changed; the message goes on the form as a whole."""

    def __init__(self) -> None:
        super().__init__(
            _("This form was already used to send a story. Please start again."),
            code="form_reused",
        )


@dataclass(frozen=True)
class SubmitResult:
    story: Story
    created: bool


@dataclass(frozen=True)
class StoryDraft:
    email: str
    screen_name: str
    author_role: str
    title: str
    body: str
    services: Sequence[Service]
    good_tags: Sequence[Tag] = ()
    improve_tags: Sequence[Tag] = ()
    feeling_tags: Sequence[Tag] = ()
    age_group: str = ""
    postcode: str = ""
    consent: bool = False


def story_tag_pairs(
    *, good: Sequence[Tag], improve: Sequence[Tag], feelings: Sequence[Tag]
) -> list[tuple[Tag, int]]:
    """Tags with the polarity given by the question they answer."""
    pairs = [(t, 1) for t in good] + [(t, -1) for t in improve]
    pairs += [(t, t.polarity) for t in feelings]
    return pairs


# --- What a story may be: each check returns the value as it is kept, or raises
# ValidationError({field: message}) with the story form's field name.

TITLE_MAX_LENGTH = 200  # Story.title

SCREEN_NAME_MESSAGES = {
    "empty": gettext_lazy("Enter a screen name"),
    "too_long": gettext_lazy("Your screen name must be 40 characters or fewer"),
    "invisible": gettext_lazy(
        "Your screen name contains an invisible character (such as a zero-width space or a "
        "text-direction mark): type it again using letters, numbers and spaces"
    ),
    "no_letters": gettext_lazy("Your screen name must contain at least one letter or number"),
    "email": gettext_lazy("Your screen name must not contain an email address"),
    "phone": gettext_lazy("Your screen name must not contain a phone number"),
    "full_name": gettext_lazy(
        "Your screen name looks like a real name. Choose one that does not identify you, "
        "such as 'Grateful patient'"
    ),
    "birth_year": gettext_lazy("Your screen name must not contain your age or year of birth"),
}

# A full UK postcode, a sector or just the district ("LS1"): each says where people are.
POSTCODE_MESSAGES = {
    Problem.CHARACTERS: gettext_lazy("Enter a postcode using only letters, numbers and spaces"),
    Problem.AREA: gettext_lazy(
        "Check the start of your postcode: no UK postcode begins with those letters"
    ),
}

# What the postcode should look like, in the region of the service the story is about.
POSTCODE_SHAPES = {
    "uk": gettext_lazy("Enter a UK postcode, like LS1 4AP, or just its first part, like LS1"),
    "ie": gettext_lazy("Enter an Eircode, like D02 X285, or just its first part, like D02"),
    "ca": gettext_lazy("Enter a postal code, like K1A 0B1, or just its first part, like K1A"),
    "au": gettext_lazy("Enter a postcode of four numbers, like 2000"),
}


def story_title_too_long(title: str) -> str:
    """The message when a story's title (the author's or the public one) is too long, or ""."""
    if len(title) > TITLE_MAX_LENGTH:
        return _("The title must be %(limit)s characters or fewer") % {"limit": TITLE_MAX_LENGTH}
    return ""


def story_text_too_long(body: str, *, public: bool = False) -> str:
    """The one story length check, of the author's text (characters, one giant word, and
    words) or of the public text a moderator edits (``public``: the same character limit,
    words not counted): its message, or "" when the text fits."""
    limit = settings.STORY_MAX_CHARACTERS
    if public and len(body) > limit:
        return _("The public text has %(count)s characters: the limit is %(limit)s") % {
            "count": len(body),
            "limit": limit,
        }
    if public:
        return ""
    if len(body) > limit:
        return _(
            "Your story has %(count)s characters: shorten it to %(limit)s characters or fewer"
        ) % {"count": len(body), "limit": limit}
    words = word_count(body)
    if words > settings.STORY_MAX_WORDS:
        return _("Your story has %(count)s words: shorten it to %(limit)s words or fewer") % {
            "count": words,
            "limit": settings.STORY_MAX_WORDS,
        }
    return ""


def story_title_clean(title: str, *, missing: str = "") -> str:
    """A story's title, the author's or the public one, normalised; or ValidationError
    ``{"title": ...}``: ``missing`` (the author's words by default) when it is empty, the one
    length message when it is too long."""
    title = normalise_text(title)
    if not title:
        raise ValidationError({"title": missing or _("Enter a title for your story")})
    if too_long := story_title_too_long(title):
        raise ValidationError({"title": too_long})
    return title


def story_text_clean(body: str, *, missing: str = "", public: bool = False) -> str:
    """A story's text normalised, or ValidationError ``{"body": ...}``: ``missing`` (the
    author's words by default) when it is empty, ``story_text_too_long``'s message when it is
    too long (``public``: the moderator's public text, whose words are not counted)."""
    body = normalise_text(body)
    if not body:
        raise ValidationError({"body": missing or _("Enter your story")})
    if too_long := story_text_too_long(body, public=public):
        raise ValidationError({"body": too_long})
    return body


def _clean_screen_name(name: str) -> str:
    name = normalise_text(name)
    problem = screen_name_problem(name)
    if problem:
        raise ValidationError({"screen_name": SCREEN_NAME_MESSAGES[problem]})
    return name


def _clean_postcode(text: str, region: str) -> str:
    """ "" (it is optional), or the postcode in its display form ("LS1 4AP", "LS1"), by the
    grammar of ``region`` (a UK postcode for a UK service, an Eircode for an Irish one; the
    UK's for a region with no grammar in lib/postcodes yet)."""
    text = text.strip()
    if not text:
        return ""
    if len(text) > MAX_STORED:
        raise ValidationError(
            {
                "postcode": _("Enter a postcode of %(limit)s characters or fewer")
                % {"limit": MAX_STORED}
            }
        )
    region = region if region in PARSERS else "uk"
    parsed = parse(text, region=region)
    if parsed.value is None:
        message = POSTCODE_MESSAGES.get(parsed.problem or Problem.SHAPE, POSTCODE_SHAPES[region])
        raise ValidationError({"postcode": message})
    return parsed.value.display


def _check_consent(consent: bool) -> bool:
    if not consent:
        raise ValidationError({"consent": _("You must agree to your story being published")})
    return True


MAX_SERVICES_PER_STORY = 5


def story_services_named(codes: Sequence[str]) -> tuple[list[Service], list[str]]:
    """The open services a story form names (at most ``MAX_SERVICES_PER_STORY``, in the order
    chosen, once each), and the codes that name no open service (closed, merged or unknown):
    the form sends the author back to choose again, keeping what they typed."""
    services, missing = services_by_codes(list(codes)[:MAX_SERVICES_PER_STORY])
    closed = [s.code for s in services if not s.is_open]
    return [s for s in services if s.is_open], missing + closed


def _check_services(services: Sequence[Service]) -> Sequence[Service]:
    if not services:
        raise ValidationError(_("Choose the service your story is about"))
    if len(services) > MAX_SERVICES_PER_STORY:
        raise ValidationError(
            _("Choose at most %(most)d services") % {"most": MAX_SERVICES_PER_STORY}
        )
    if any(not s.is_open for s in services):
        raise ValidationError(_("That service has closed: choose another"))
    return services


def _check_email(email: str) -> None:
    if problem := email_problem(email):
        raise ValidationError({"email": problem})


def _check_author_role(role: str) -> None:
    if role not in AuthorRole.values:
        raise ValidationError({"author_role": _("Select who you are in this story")})


def _check_age_group(age_group: str) -> None:
    if age_group and age_group not in AgeGroup.values:
        raise ValidationError({"age_group": _("Select your age group, or prefer not to say")})


def _story_region(draft: StoryDraft) -> str:
    """The region whose postcodes the author is asked for: the first service's."""
    return draft.services[0].region if draft.services else "uk"


def story_draft_check(*, draft: StoryDraft) -> StoryDraft:
    """The draft as it will be kept (text normalised, the postcode in its display form), or
    ValidationError with every problem at once, keyed by the story form's field names.

    ``story_submit`` calls it; the story form's view calls it too when the form itself found
    a problem, so the author sees every message at once."""
    problems = Problems()
    problems.check(lambda: _check_email(draft.email), default=None)
    problems.check(lambda: _check_author_role(draft.author_role), default=None)
    problems.check(lambda: _check_age_group(draft.age_group), default=None)
    cleaned = replace(
        draft,
        title=problems.check(lambda: story_title_clean(draft.title), default=""),
        body=problems.check(lambda: story_text_clean(draft.body), default=""),
        postcode=problems.check(
            lambda: _clean_postcode(draft.postcode, _story_region(draft)), default=""
        ),
        screen_name=problems.check(lambda: _clean_screen_name(draft.screen_name), default=""),
        consent=problems.check(lambda: _check_consent(draft.consent), default=False),
        services=problems.check(lambda: _check_services(draft.services), default=()),
    )
    problems.raise_any()
    return cleaned


UNCONFIRMED_PER_DAY = 5


def _may_email_confirmation(author: User) -> bool:
    """At most five confirmation emails a day for one address: nobody can use the form to
    flood someone else's inbox. Past the limit the story is still kept (nothing accepted is
    lost) and the page says the same as always, so the form tells nobody anything about an
    address; the author confirms it from "My stories" after signing in."""
    waiting = Story.objects.filter(
        author=author,
        status=Story.Status.AWAITING_VERIFICATION,
        submitted_at__gte=timezone.now() - timedelta(days=1),
    ).count()
    return waiting <= UNCONFIRMED_PER_DAY


def story_author_email(
    story: Story, template: str, *, dedupe_key: str = "", **context: Any
) -> None:
    """Queue the email ``template`` to the story's author about their story, which it names by
    the title they wrote (``original_title``; a moderator's public edit is not theirs).

    One of each ``template`` per story (the key ``story-received:<id>`` for
    ``story_received``) unless ``dedupe_key`` names another."""
    email_enqueue(
        dedupe_key=dedupe_key or f"{template.replace('_', '-')}:{story.pk}",
        to=story.author.email,
        template=template,
        context={"story_title": story.original_title, **context},
    )


def _acknowledge(story: Story) -> None:
    story_author_email(
        story,
        "story_received",
        screen_name=story.screen_name,
        my_stories_link=absolute_url("stories:my_story", story.public_id),
    )


def story_submit(
    *, draft: StoryDraft, idempotency_key: uuid.UUID, signed_in: User | None = None
) -> SubmitResult:
    """Commit the story, then (in the same transaction) queue the verification email.

    A repeated submission with the same key returns the story already made.
    """
    checked = story_draft_check(draft=draft)
    result: SubmitResult = create_once(  # (mypy does not infer the type through lambdas)
        Story,
        idempotency_key=idempotency_key,
        create=lambda: _story_create(
            draft=checked, idempotency_key=idempotency_key, signed_in=signed_in
        ),
        same=lambda existing: _same_submission(existing, checked),
    )
    return result


def _same_submission(existing: Story, draft: StoryDraft) -> SubmitResult:
    if existing.author.email != normalise_email(draft.email):
        raise IdempotencyConflict()
    return SubmitResult(story=existing, created=False)


@transaction.atomic
def _story_create(
    *, draft: StoryDraft, idempotency_key: uuid.UUID, signed_in: User | None
) -> SubmitResult:
    author = author_get_or_create(email=draft.email)
    title, body = draft.title, draft.body  # checked and normalised by story_draft_check
    # An author who is signed in with this verified address needs no new confirmation.
    verified = (
        signed_in is not None and signed_in.pk == author.pk and author.email_verified_at is not None
    )
    now = timezone.now()
    story = Story.objects.create(
        author=author,
        screen_name=draft.screen_name,
        author_role=draft.author_role,
        age_group=draft.age_group,
        postcode=draft.postcode,
        original_title=title,
        original_body=body,
        title=title,
        body=body,
        consent_given_at=now,
        consent_version=settings.CONSENT_VERSION,
        idempotency_key=idempotency_key,
        status=Story.Status.IN_MODERATION if verified else Story.Status.AWAITING_VERIFICATION,
        verified_at=now if verified else None,
    )
    StoryService.objects.bulk_create(
        [StoryService(story=story, service=s) for s in dict.fromkeys(draft.services)]
    )
    StoryRevision.objects.create(
        story=story, kind=StoryRevision.Kind.SUBMITTED, editor=author, title=title, body=body
    )
    story_checks_enqueue(story=story)
    pairs = story_tag_pairs(
        good=draft.good_tags, improve=draft.improve_tags, feelings=draft.feeling_tags
    )
    StoryTag.objects.bulk_create(
        [StoryTag(story=story, tag=t, polarity=p) for t, p in dict.fromkeys(pairs)]
    )
    if verified:
        _acknowledge(story)
    elif _may_email_confirmation(author):
        token, seed = sign_in_token_issue(
            user=author, purpose=SignInToken.Purpose.VERIFY_STORY, story_id=story.pk
        )
        email_enqueue(
            dedupe_key=f"story-verify:{token.pk}",
            to=author.email,
            template="story_verify",
            context={
                "story_title": title,
                "link": secret_link("stories:verify", seed),
                "hours": settings.AUTHOR_LINK_HOURS,
            },
        )
    return SubmitResult(story=story, created=True)


@transaction.atomic
def story_verify(*, raw_token: str) -> Story | None:
    """The author followed the emailed link: the story enters moderation."""
    token = sign_in_token_redeem(raw=raw_token, purpose=SignInToken.Purpose.VERIFY_STORY)
    if token is None or token.story_id is None:
        return None
    story = Story.objects.select_related("author").get(pk=token.story_id)
    _enter_moderation(story)
    return story


def _enter_moderation(story: Story) -> bool:
    """awaiting_verification -> in_moderation (stories/lifecycle.py), checked in the database;
    True if it moved, False if the story had already moved on (a link used twice)."""
    if story.status != Story.Status.AWAITING_VERIFICATION:
        return False
    try:
        story_transition(
            story=story,
            to=Story.Status.IN_MODERATION,
            action="story.verify",
            actor=story.author,
            fields={"verified_at": timezone.now()},
        )
    except ConflictError:
        return False
    story.refresh_from_db()
    _acknowledge(story)
    return True


@transaction.atomic
def story_confirm_signed_in(*, story: Story, author: User) -> bool:
    """An author signed in with their verified address confirms a story waiting for it (for
    example one told after the day's confirmation emails had all been sent)."""
    if story.author_id != author.pk or author.email_verified_at is None:
        raise NotAllowed("Not the author")
    return _enter_moderation(story)


DUPLICATE_WINDOW = timedelta(days=90)


def story_possible_duplicates(*, story: Story) -> StoryQuerySet:
    """The author's other stories about one of the same services told within 90 days: the
    same episode told twice is a reason not to publish, which a moderator decides."""
    return (
        Story.objects.filter(
            author_id=story.author_id,
            services__in=story.services.all(),
            submitted_at__gte=story.submitted_at - DUPLICATE_WINDOW,
            submitted_at__lte=story.submitted_at + DUPLICATE_WINDOW,
        )
        .exclude(pk=story.pk)
        .exclude(status__in=[Story.Status.WITHDRAWN, Story.Status.AWAITING_VERIFICATION])
        .distinct()
    )


def story_checks_enqueue(*, story: Story) -> None:
    """Queue the automated checks for the story's current text, in the caller's transaction.

    The checks never run while the author waits: a failing or slow check cannot lose a story
    or delay its acknowledgement. Until the job has run, ``checked_at`` is empty (a new story
    starts so; an author's edit empties it with the new text) and the workbench says "not
    checked yet"; a failing check is retried with backoff by the worker.
    """
    job_enqueue(
        name="stories.check",
        payload={"story_id": story.pk},
        dedupe_key=f"story-check:{story.pk}:{uuid.uuid4().hex}",
    )


def story_automod_refresh(*, story: Story) -> None:
    """Run the automated checks on the current public text and keep their whole-story signals:
    safeguarding signals put the story first in the queue; another recent story by the same
    author about the same service raises DUPLICATE_RISK. Nothing is rejected here.

    Runs in the worker (job ``stories.check``); an exception propagates so the job is retried.
    """
    analysis = analyse(title=story.title, body=story.body)
    story_findings_store(
        story=story, title=story.title, body=story.body, findings=analysis.findings
    )
    story.automod_flags = list(analysis.flags)
    if story_possible_duplicates(story=story).exists():
        story.automod_flags.append("DUPLICATE_RISK")
    story.urgent = "SAFEGUARDING" in analysis.flags
    story.suggested_criticality = analysis.criticality
    story.checked_at = timezone.now()
    Story.objects.filter(pk=story.pk).update(
        automod_flags=story.automod_flags,
        urgent=story.urgent,
        suggested_criticality=story.suggested_criticality,
        checked_at=story.checked_at,
    )


def story_findings_store(
    *, story: Story, title: str, body: str, findings: Sequence[Finding]
) -> None:
    """Keep what the automated checks found in this text of the story, for the workbench (one
    upsert). Called by the check job, and by the workbench when it had to analyse a text
    itself (after an edit), so that the next view reads them."""
    StoryFindings.objects.bulk_create(
        [
            StoryFindings(
                story_id=story.pk,
                text_key=findings_key(title=title, body=body),
                findings=findings_to_json(findings),
                found_at=timezone.now(),
            )
        ],
        update_conflicts=True,
        unique_fields=["story"],
        update_fields=["text_key", "findings", "found_at"],
    )


@transaction.atomic
def story_author_edit(*, story: Story, author: User, title: str, body: str, version: int) -> None:
    """Authors may change their words until a moderator has decided (the same checks of the
    title and the story as when it was told)."""
    if story.author_id != author.pk:
        raise NotAllowed("Not the author")
    if not can_author_edit(story):
        raise ValidationError(_("Your story has already been moderated, so it cannot be changed"))
    problems = Problems()
    title = problems.check(lambda: story_title_clean(title), default="")
    body = problems.check(lambda: story_text_clean(body), default="")
    problems.raise_any()
    story_update_keeping_state(
        story=story,
        version=version,
        checked_at=None,  # the new words are not checked yet
        updated_at=timezone.now(),
        original_title=title,
        original_body=body,
        title=title,
        body=body,
    )
    StoryRevision.objects.create(
        story=story, kind=StoryRevision.Kind.AUTHOR_EDIT, editor=author, title=title, body=body
    )
    story.title, story.body, story.checked_at = title, body, None
    story_checks_enqueue(story=story)


WITHDRAW_ATTEMPTS = 3


@transaction.atomic
def story_withdraw(*, story: Story, author: User) -> None:
    """Withdrawn at any time: it disappears from every public surface at once."""
    if story.author_id != author.pk:
        raise NotAllowed("Not the author")
    for _attempt in range(WITHDRAW_ATTEMPTS):
        story.refresh_from_db(fields=["status"])
        if story.status == Story.Status.WITHDRAWN:
            return  # already withdrawn: nothing to do
        try:
            story_transition(
                story=story,
                to=Story.Status.WITHDRAWN,
                action="story.withdraw",
                actor=author,
                fields={"withdrawn_at": timezone.now()},
            )
        except ConflictError:
            # A moderator's decision landed between the read and the UPDATE: read the state
            # again, so the audit event names the state the story was withdrawn from.
            continue
        return
    raise ConflictError(None)


COUNTS_REFRESH_SECONDS = 600


def story_counts_refresh_request(*, service: Service) -> None:
    """Ask the worker to count a large subtree's stories again: at most one job per service
    in each ten-minute window, however many visitors ask."""
    window = int(timezone.now().timestamp()) // COUNTS_REFRESH_SECONDS
    job_enqueue(
        name="stories.recount",
        payload={"service_id": service.pk},
        dedupe_key=f"stories.recount:{service.pk}:{window}",
    )


def story_counts_store(*, service: Service) -> None:
    """Count the subtree now and keep the result (the worker's job ``stories.recount``)."""
    from carestory.stories.selectors import story_counts_live

    counts = story_counts_live(service=service)
    numbers = {
        "stories": counts.stories,
        "responses": counts.responses,
        "answered": counts.answered,
    }
    before = ServiceStoryCounts.objects.filter(service=service).values(*numbers).first()
    ServiceStoryCounts.objects.update_or_create(
        service=service, defaults={**numbers, "counted_at": timezone.now()}
    )
    if before != numbers:  # the table is private to the page cache: say when pages changed
        transaction.on_commit(page_cache_bump, robust=True)
