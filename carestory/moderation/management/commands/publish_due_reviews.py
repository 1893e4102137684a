"""``manage.py publish_due_reviews``: publish approved stories whose provider did not answer
within 72 hours.

Run it from cron every 5 minutes. It is idempotent: each review is closed with a conditional
UPDATE on its outcome and the story's status, so a second run (or two overlapping runs)
publishes nothing twice, and a story withdrawn during its review is skipped.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from carestory.moderation.services.provider_review import provider_reviews_publish_due


class Command(BaseCommand):
    help = "Publish stories whose 72-hour provider review ended without an answer."

    def handle(self, *args: Any, **options: Any) -> None:
        published = provider_reviews_publish_due()
        self.stdout.write(f"Published {published} story(ies) after provider review.")
