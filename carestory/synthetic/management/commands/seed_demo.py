"""Load a small real service tree, demo accounts and stories in every state."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from carestory.accounts.models import User
from carestory.accounts.services import author_get_or_create, moderator_add
from carestory.moderation.services.decisions import story_publish, story_reject
from carestory.moderation.services.edits import StoryEdit
from carestory.responses.models import ModerationStatus, Response
from carestory.responses.moderation import reply_publish, response_publish
from carestory.responses.services import reply_post, response_post, response_release
from carestory.services.demo import demo_postcodes_load, demo_tree_load
from carestory.services.models import Service
from carestory.stories.models import Criticality, Tag
from carestory.stories.services import StoryDraft, story_submit, story_tag_pairs, story_withdraw
from carestory.subscriptions.services import staff_add, subscription_create

DEMO_DOMAIN = "demo.carestory.invalid"

STORIES: list[dict[str, Any]] = [
    {
        "service": "RTR-ED",
        "title": "Kind and quick care in the emergency department",
        "body": "I came in late at night with chest pain. The triage nurse explained everything, "
        "the doctor listened to me and the tests were done within the hour. I was frightened "
        "but everyone was calm and kind. The waiting room was very cold though.",
        "role": "patient",
        "good": ["staff-attitude", "communication"],
        "improve": ["cleanliness"],
        "feel": ["reassured", "grateful"],
        "criticality": Criticality.MINIMALLY,
        "state": "answered_with_change",
    },
    {
        "service": "RVW-MAT",
        "title": "Midwives made all the difference",
        "body": "From the first scan to the birth of our daughter the midwives were wonderful. "
        "They answered every question and made my partner feel included too.",
        "role": "parent",
        "good": ["staff-attitude", "information"],
        "improve": [],
        "feel": ["grateful", "safe"],
        "criticality": Criticality.NOT_CRITICAL,
        "state": "answered",
    },
    {
        "service": "A81001",
        "title": "Hard to get an appointment",
        "body": "I rang at eight every morning for a week and could not get through. When I "
        "finally saw a GP they were thorough and helpful, but the phone system needs fixing.",
        "role": "patient",
        "good": ["treatment"],
        "improve": ["appointments", "waiting-times"],
        "feel": ["frustrated"],
        "criticality": Criticality.MODERATELY,
        "state": "published",
    },
    {
        "service": "RR8-ED",
        "title": "Long wait with my father",
        "body": "My father waited nine hours on a trolley in a corridor. Staff were clearly "
        "stretched. Nobody told us what was happening and he missed his medication.",
        "role": "relative",
        "good": [],
        "improve": ["waiting-times", "communication", "dignity"],
        "feel": ["anxious", "ignored"],
        "criticality": Criticality.STRONGLY,
        "state": "published",
    },
    {
        "service": "RTR-MAT",
        "title": "Waiting to hear about my scan",
        "body": "I had a scan two weeks ago and nobody has called me with the results. "
        "I am worried and do not know who to ask.",
        "role": "patient",
        "good": [],
        "improve": ["information"],
        "feel": ["anxious"],
        "state": "in_moderation",
    },
    {
        "service": "RVW-ED",
        "title": "Thank you to the night team",
        "body": "Brilliant care for my son after his fall. The children's area was calm.",
        "role": "parent",
        "good": ["staff-attitude"],
        "improve": [],
        "feel": ["grateful"],
        "state": "in_moderation",
    },
    {
        "service": "RR8-MAT",
        "title": "Buy cheap supplements at our shop",
        "body": "Visit our online shop for the best prices on vitamins.",
        "role": "other",
        "good": [],
        "improve": [],
        "feel": [],
        "state": "rejected",
    },
    {
        "service": "RTR-ED",
        "title": "Changed my mind about sharing this",
        "body": "A story the author later withdrew.",
        "role": "patient",
        "good": [],
        "improve": [],
        "feel": [],
        "state": "withdrawn",
    },
]


class Command(BaseCommand):
    help = "Load demo data: a slice of the real NHS service tree, accounts and stories."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the database has services"
        )
        parser.add_argument(
            "--accounts-file",
            default=str(Path(settings.BASE_DIR) / "var" / "demo-accounts.txt"),
            help="Where to write the demo sign-in details",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run with production settings")
        if options["if_empty"] and Service.objects.exists():
            self.stdout.write("The database already has data: not seeding.")
            return
        accounts = self._seed()
        path = Path(options["accounts_file"])
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{role:<40} {email}  password: {password}" for role, email, password in accounts]
        lines.append(
            "Moderators and administrators set up two-step sign-in (any authenticator app) the "
            "first time they sign in at /staff/login/."
        )
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o600)
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Demo accounts:"))
        for line in lines:
            self.stdout.write("  " + line)

    @transaction.atomic
    def _seed(self) -> list[tuple[str, str, str]]:
        demo_tree_load()
        demo_postcodes_load()
        # GP practices get provider review before publication (inherited from their area).
        Service.objects.filter(code="16C").update(provider_review=True)
        codes = {s.code: s for s in Service.objects.all()}
        south_tees = subscription_create(code="RTR", name=codes["RTR"].name, scope=[codes["RTR"]])
        north_tees = subscription_create(code="RVW", name=codes["RVW"].name, scope=[codes["RVW"]])
        leeds = subscription_create(code="RR8", name=codes["RR8"].name, scope=[codes["RR8"]])
        gp_area = subscription_create(code="16C", name=codes["16C"].name, scope=[codes["16C"]])

        accounts: list[tuple[str, str, str]] = []

        def password() -> str:
            return secrets.token_urlsafe(12)

        pw = password()
        moderator = moderator_add(
            email=f"moderator@{DEMO_DOMAIN}", password=pw, senior=True, full_name="Morgan Moderator"
        )
        accounts.append(("Senior moderator", moderator.email, pw))
        staff_specs = [
            (
                "responder",
                south_tees,
                "Sam Patel",
                "Patient experience lead",
                "South Tees responder",
            ),
            (
                "administrator",
                south_tees,
                "Alex Reid",
                "Head of patient experience",
                "South Tees administrator",
            ),
            ("member", south_tees, "Jo Brown", "Ward manager", "South Tees member (reads only)"),
            ("responder", north_tees, "Chris Lee", "Matron, maternity", "North Tees responder"),
            ("responder", leeds, "Priya Shah", "Emergency department manager", "Leeds responder"),
            ("responder", gp_area, "Dr Kim Hall", "GP partner", "GP practices responder"),
            (
                "administrator",
                gp_area,
                "Pat Evans",
                "Practice manager",
                "GP practices administrator (provider review)",
            ),
        ]
        responders: dict[str, User] = {}
        for role, subscription, name, job, label in staff_specs:
            pw = password()
            slug = name.lower().replace("dr ", "").replace(" ", ".")
            membership = staff_add(
                email=f"{slug}@{DEMO_DOMAIN}",
                subscription=subscription,
                role=role,
                password=pw,
                full_name=name,
                job_title=job,
            )
            accounts.append((label, membership.user.email, pw))
            if role == "responder":
                responders[subscription.code] = membership.user

        author = author_get_or_create(email=f"author@{DEMO_DOMAIN}")
        author.email_verified_at = timezone.now()
        author.save(update_fields=["email_verified_at"])
        accounts.append(("Author (signs in by emailed link)", author.email, "-"))
        tags = {t.slug: t for t in Tag.objects.all()}
        owner_of = {"RTR": "RTR", "RVW": "RVW", "RR8": "RR8", "A8": "16C"}

        for i, spec in enumerate(STORIES):
            service = codes[spec["service"]]
            draft = StoryDraft(
                email=author.email,
                screen_name=["Grateful patient", "New parent", "Teesside patient", "Worried son"][
                    i % 4
                ],
                author_role=spec["role"],
                title=spec["title"],
                body=spec["body"],
                services=[service],
                good_tags=[tags[t] for t in spec["good"]],
                improve_tags=[tags[t] for t in spec["improve"]],
                feeling_tags=[tags[t] for t in spec["feel"]],
                consent=True,
            )
            story = story_submit(draft=draft, idempotency_key=uuid.uuid4(), signed_in=author).story
            state = spec["state"]
            if state == "in_moderation":
                continue
            if state == "withdrawn":
                story_withdraw(story=story, author=author)
                continue
            if state == "rejected":
                story_reject(
                    story=story,
                    moderator=moderator,
                    version=story.version,
                    reason="commercial",
                    message="We only publish experiences of care.",
                )
                continue
            story_publish(
                story=story,
                moderator=moderator,
                edit=StoryEdit(
                    version=story.version,
                    title=story.title,
                    body=story.body,
                    criticality=int(spec["criticality"]),
                    tags=tuple(
                        story_tag_pairs(
                            good=draft.good_tags,
                            improve=draft.improve_tags,
                            feelings=draft.feeling_tags,
                        )
                    ),
                    services=(service,),
                ),
            )
            story.refresh_from_db()
            if state not in ("answered", "answered_with_change"):
                continue
            owner = next(v for k, v in owner_of.items() if service.code.startswith(k))
            change = (
                Response.Change.MADE if state == "answered_with_change" else Response.Change.NONE
            )
            response = response_post(
                story=story,
                responder=responders[owner],
                body="Thank you for taking the time to tell us about your experience. "
                "I have shared your story with the team, who were delighted to read it.",
                change=change,
                change_description="We have fitted new heaters in the waiting room."
                if change == Response.Change.MADE
                else "",
                idempotency_key=uuid.uuid4(),
            )
            # End the 30-minute edit window now rather than waiting for the worker.
            response_release(response_id=response.pk, now=response.editable_until)
            response.refresh_from_db()
            if response.status == ModerationStatus.IN_MODERATION:
                response_publish(
                    response=response,
                    moderator=moderator,
                    version=response.version,
                    body=response.body,
                )
                response.refresh_from_db()
            reply = reply_post(
                response=response,
                author=author,
                body="Thank you for replying, it means a lot to know it was read.",
                idempotency_key=uuid.uuid4(),
            )
            if state == "answered_with_change":
                reply_publish(
                    reply=reply, moderator=moderator, version=reply.version, body=reply.body
                )
        return accounts
