"""Messages for authors while they write, built from an ``Analysis``.

The messages never repeat what was found (no names, numbers or addresses), only what kind of
thing it is, so they are safe to send back and to log. Safeguarding signals get a kind
message with where to get help now; nothing here blocks sending the story."""

from __future__ import annotations

from collections import Counter
from typing import TypedDict

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from carestory.automod.results import Analysis

# Most useful first: identifiers, contact details, then people, then the finer points.
MESSAGE_ORDER = (
    "NHS_NUMBER",
    "EMAIL",
    "PHONE",
    "URL",
    "ADDRESS",
    "POSTCODE",
    "PERSON_NAME",
    "STAFF_DESCRIPTOR",
    "DATE",
    "TIME",
    "AGE",
    "GENDERED_RELATION",
    "PROFANITY",
)


class Message(TypedDict):
    kind: str  # "support" (someone may be at risk), "privacy", "tone" or "info"
    label: str  # a SPAN_LABEL or FLAG
    count: int
    text: str


def label_messages() -> dict[str, str]:
    """Every label's short message, in the active language (translate them once per story,
    not once per finding)."""
    return {
        "PERSON_NAME": _("Names are usually removed before publishing."),
        "STAFF_DESCRIPTOR": _(
            "Descriptions that pick out one member of staff are usually removed."
        ),
        "EMAIL": _("We will remove email addresses before publishing."),
        "PHONE": _("We will remove phone numbers before publishing."),
        "URL": _("We will remove web addresses before publishing."),
        "NHS_NUMBER": _("We will remove NHS numbers before publishing."),
        "POSTCODE": _("We will remove postcodes before publishing."),
        "DATE": _("Exact dates can identify you; we may make them less specific."),
        "TIME": _("Exact times can identify you; we may make them less specific."),
        "AGE": _("Exact ages can identify someone; we may make them less specific."),
        "GENDERED_RELATION": _("We may use a neutral word (parent, partner, child)."),
        "ADDRESS": _("We will remove addresses and room or bed numbers before publishing."),
        "PROFANITY": _("We remove swear words before publishing."),
    }


def _span_message(label: str, count: int) -> str:
    if label == "EMAIL":
        return ngettext(
            "Your story mentions an email address: we will remove it before publishing.",
            "Your story mentions %(count)d email addresses: we will remove them before publishing.",
            count,
        ) % {"count": count}
    if label == "PHONE":
        return ngettext(
            "Your story mentions a phone number: we will remove it before publishing.",
            "Your story mentions %(count)d phone numbers: we will remove them before publishing.",
            count,
        ) % {"count": count}
    if label == "URL":
        return _("Your story mentions a web address: we will remove it before publishing.")
    if label == "NHS_NUMBER":
        return _(
            "It looks like you included an NHS number. Please leave it out: we never publish it, "
            "and the service does not need it here to find your records."
        )
    if label in ("POSTCODE", "ADDRESS"):
        return _(
            "It looks like you mention an address, postcode or a room or bed number: "
            "we will remove it before publishing."
        )
    if label == "PERSON_NAME":
        return _(
            "It looks like you mention someone's name. We usually remove names, apart from "
            "staff thanked in positive stories, so nobody can be identified."
        )
    if label == "STAFF_DESCRIPTOR":
        return _(
            "It looks like you describe a member of staff in a way that could identify them. "
            "You could describe their role instead."
        )
    if label in ("DATE", "TIME", "AGE"):
        return _(
            "Exact dates, times and ages can make a story identifiable. Consider something "
            'less specific, like "one evening last spring".'
        )
    if label == "GENDERED_RELATION":
        return _(
            'You mention a relative. We may use a neutral word, like "my parent" or '
            '"my partner", to help keep you and them anonymous.'
        )
    if label == "PROFANITY":
        return _("Your story contains strong language: we remove swear words before publishing.")
    return ""


def author_messages(analysis: Analysis) -> list[Message]:
    """What to tell the author, most important first. At most one message per kind of thing."""
    messages: list[Message] = []
    if "SAFEGUARDING" in analysis.flags:
        messages.append(
            {
                "kind": "support",
                "label": "SAFEGUARDING",
                "count": 1,
                "text": _(
                    "It sounds like things may be really hard for you or someone you care about "
                    "right now. We read stories in office hours, so please don't wait for us. "
                    "If anyone is in danger, call 999. For urgent medical help, call 111. "
                    "To talk to someone any time, call Samaritans free on 116 123. "
                    "You can still send your story."
                ),
            }
        )
    counts = Counter(f.label for f in analysis.findings)
    seen: set[str] = set()
    for label in MESSAGE_ORDER:
        if not counts[label]:
            continue
        text = _span_message(label, counts[label])
        if text in seen:
            continue
        seen.add(text)
        messages.append(
            {
                "kind": "tone" if label == "PROFANITY" else "privacy",
                "label": label,
                "count": counts[label],
                "text": text,
            }
        )
    if "OFFENSIVE" in analysis.flags:
        messages.append(
            {
                "kind": "tone",
                "label": "OFFENSIVE",
                "count": 1,
                "text": _(
                    "Some words may read as abusive towards staff or other people. Stories that "
                    "describe what happened, and how it felt, are more likely to lead to change."
                ),
            }
        )
    if "ALL_CAPS" in analysis.flags:
        messages.append(
            {
                "kind": "tone",
                "label": "ALL_CAPS",
                "count": 1,
                "text": _("Most of your story is in capital letters, which can read as shouting."),
            }
        )
    if "COMPLAINT" in analysis.flags:
        messages.append(
            {
                "kind": "info",
                "label": "COMPLAINT",
                "count": 1,
                "text": _(
                    "Telling your story here is not the same as making a formal complaint. "
                    "If you want to complain, the service's complaints team or PALS can help."
                ),
            }
        )
    return messages
