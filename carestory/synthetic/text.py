"""Words for synthetic stories, responses and replies: sentence banks by tone.

Every text is made from these banks by a seeded ``random.Random``, so the same seed gives the
same words. Nothing here is a real person's story.
"""

from __future__ import annotations

import random

POSITIVE_TITLES = [
    "Kind and quick care",
    "Thank you to the whole team",
    "Brilliant care for my mum",
    "Made to feel safe",
    "The nurses were wonderful",
    "Excellent treatment from start to finish",
    "Listened to and looked after",
    "A very good experience",
    "Calm and caring staff",
    "Could not have asked for better",
    "Fantastic support after my operation",
    "They explained everything",
    "Great care for our son",
    "Grateful for the care I received",
    "Quick appointment and a thorough check",
]
MIXED_TITLES = [
    "Good care but a long wait",
    "Kind staff, poor communication",
    "Mixed experience in the department",
    "Treatment was good, discharge was not",
    "Helpful doctor, hard to get an appointment",
    "Caring nurses but nobody told us anything",
    "Good in the end",
    "Some things need to change",
]
NEGATIVE_TITLES = [
    "Long wait with my father",
    "Nobody listened to me",
    "Left without pain relief",
    "Hard to get an appointment",
    "Discharged too early",
    "Poor communication throughout",
    "Waited all night on a trolley",
    "My concerns were dismissed",
    "Missed medication on the ward",
    "Rude receptionist and no call back",
]

OPENINGS = [
    "I came in late at night with chest pain.",
    "My mother was admitted after a fall at home.",
    "I brought my daughter in with a high temperature.",
    "I had a planned operation on my knee.",
    "I rang the surgery at eight in the morning.",
    "My husband was referred for tests after seeing the GP.",
    "We were sent here by the out-of-hours service.",
    "I went for my routine scan.",
    "My father has dementia and was admitted for an infection.",
    "I attended the clinic for a follow-up appointment.",
    "I was booked in for a blood test and a review.",
    "Our baby was born here last month.",
    "I was seen after being referred by my physiotherapist.",
    "I came with my son, who has autism, for a hearing test.",
]
POSITIVE_SENTENCES = [
    "The nurse explained everything and made sure I understood.",
    "The doctor listened to me and took my worries seriously.",
    "Everyone was calm and kind even though they were very busy.",
    "The tests were done within the hour.",
    "I was treated with dignity and respect the whole time.",
    "The receptionist was friendly and found me an appointment the same day.",
    "They kept us informed about what was happening.",
    "The ward was spotless and the food was better than I expected.",
    "Pain relief was offered before I even had to ask.",
    "The team made my partner feel included too.",
    "The discharge was well organised and the follow-up was booked before we left.",
    "The healthcare assistant sat with my mum when she was frightened.",
    "I felt safe and well looked after.",
    "Nothing was too much trouble for the staff.",
    "The consultant took time to answer all our questions.",
    "The physiotherapist gave me clear exercises to do at home.",
]
NEGATIVE_SENTENCES = [
    "We waited nine hours before anyone saw us.",
    "Nobody told us what was happening or why.",
    "The phone line was engaged for over an hour.",
    "His medication was missed twice on the ward.",
    "The waiting room was cold and there was nowhere to sit.",
    "I felt rushed and was not given a chance to explain.",
    "The discharge letter had the wrong information on it.",
    "Parking was impossible and very expensive.",
    "I was sent home without the pain relief I had been promised.",
    "The call back I was promised never came.",
    "Staff talked over my mother as if she was not there.",
    "The appointment was cancelled on the day with no explanation.",
    "The toilets had not been cleaned all day.",
    "We were passed from one department to another.",
]
CLOSINGS_POSITIVE = [
    "Thank you to everyone involved.",
    "I cannot thank the team enough.",
    "Please pass on my thanks to the staff.",
    "I would recommend this service to anyone.",
    "A big thank you from our whole family.",
]
CLOSINGS_NEGATIVE = [
    "I hope this is looked into so it does not happen to anyone else.",
    "Something needs to change.",
    "I would like someone to explain what went wrong.",
    "I am sharing this so that lessons can be learned.",
]
MIXED_TURNS = [
    "On the other hand, some things were not good.",
    "However, not everything went well.",
    "The care itself was good, but",
    "Once we were seen things improved, although",
]

SCREEN_NAMES = [
    "Grateful patient",
    "Worried daughter",
    "New parent",
    "Local resident",
    "Concerned relative",
    "A patient",
    "Carer",
    "Happy patient",
    "Frustrated patient",
    "Son of a patient",
    "Mum of two",
    "Service user",
    "Retired teacher",
    "A relative",
    "Friend of a patient",
    "Long-term patient",
]

FIRST_NAMES = [
    "Sam", "Alex", "Jo", "Chris", "Priya", "Kim", "Pat", "Morgan", "Jamie", "Ali", "Ruth",
    "Tom", "Aisha", "Owen", "Grace", "Ben", "Zara", "Liam", "Maya", "Dan", "Ellen", "Yusuf",
]  # fmt: skip
LAST_NAMES = [
    "Patel", "Reid", "Brown", "Lee", "Shah", "Hall", "Evans", "Jones", "Smith", "Khan",
    "Taylor", "Wilson", "Davies", "Walker", "Wright", "Clarke", "Hughes", "Green", "Ahmed",
]  # fmt: skip
JOB_TITLES = [
    "Patient experience lead",
    "Head of patient experience",
    "Ward manager",
    "Matron",
    "Practice manager",
    "Service manager",
    "Clinical director",
    "Lead nurse",
    "Patient advice and liaison officer",
    "GP partner",
]

RESPONSE_OPENINGS = [
    "Thank you for taking the time to tell us about your experience.",
    "Thank you for sharing your story with us.",
    "Dear {name}, thank you for your feedback.",
    "Many thanks for your kind words.",
    "I am sorry to read about your experience.",
]
RESPONSE_POSITIVE = [
    "I have shared your story with the team, who were delighted to read it.",
    "It is lovely to hear that the staff made such a difference.",
    "Your comments will be displayed on the ward notice board.",
    "I will make sure the nurses you mention see your kind words.",
]
RESPONSE_NEGATIVE = [
    "This is not the standard of care we expect and I apologise.",
    "I have passed your comments to the department manager, who will look into this.",
    "We are reviewing how we keep patients informed while they wait.",
    "If you would like to discuss this further, please contact our patient advice team.",
    "I would welcome the chance to talk this through with you.",
]
RESPONSE_CLOSINGS = [
    "Best wishes.",
    "Kind regards.",
    "Thank you again for taking the time to write.",
    "With best wishes for the future.",
]
CHANGE_DESCRIPTIONS = [
    "We have fitted new heaters in the waiting room.",
    "We have changed how we call patients back after a cancelled appointment.",
    "Staff now give every patient a leaflet about what happens next.",
    "We have added a second receptionist at peak times.",
    "Pain relief is now reviewed on every ward round.",
    "We are introducing a new phone system in the spring.",
    "Discharge letters are now checked by a pharmacist.",
]
REPLIES = [
    "Thank you for replying, it means a lot to know it was read.",
    "Thank you for your reply. I hope the changes help other patients.",
    "I appreciate the response and would be happy to talk to someone.",
    "Thank you, please pass my thanks on to the team again.",
]
MODERATOR_NOTES = [
    "Name of a member of staff removed.",
    "Checked with a senior moderator.",
    "Author asked for the ward name to be left in.",
    "Possible duplicate of an earlier story: not the same visit.",
]
AUTHOR_QUESTIONS = [
    "Could you tell us roughly when this happened?",
    "Is it all right for us to remove the name of the nurse?",
    "Which department were you seen in?",
]


def pick(rng: random.Random, words: list[str]) -> str:
    return words[int(rng.random() * len(words))]


def story_text(rng: random.Random, tone: str) -> tuple[str, str]:
    """(title, body) for a story of this tone: positive, mixed or negative."""
    if tone == "positive":
        title = pick(rng, POSITIVE_TITLES)
        middle = rng.choices(POSITIVE_SENTENCES, k=2 + int(rng.random() * 7))
        closing = pick(rng, CLOSINGS_POSITIVE)
        paragraphs = [[pick(rng, OPENINGS), *middle[:3]], [*middle[3:], closing]]
    elif tone == "mixed":
        title = pick(rng, MIXED_TITLES)
        good = rng.choices(POSITIVE_SENTENCES, k=1 + int(rng.random() * 4))
        bad = rng.choices(NEGATIVE_SENTENCES, k=1 + int(rng.random() * 4))
        paragraphs = [
            [pick(rng, OPENINGS), *good],
            [pick(rng, MIXED_TURNS), *bad, pick(rng, CLOSINGS_NEGATIVE)],
        ]
    else:
        title = pick(rng, NEGATIVE_TITLES)
        bad = rng.choices(NEGATIVE_SENTENCES, k=2 + int(rng.random() * 7))
        paragraphs = [
            [pick(rng, OPENINGS), *bad[:3]],
            [*bad[3:], pick(rng, CLOSINGS_NEGATIVE)],
        ]
    body = "\n\n".join(" ".join(p) for p in paragraphs if p)
    return title, body


def moderated_body(rng: random.Random, body: str) -> str:
    """The public version after a moderator's light edit (a detail taken out)."""
    sentences = body.split(". ")
    if len(sentences) < 3:
        return body + " [Detail removed by the moderator.]"
    i = 1 + int(rng.random() * (len(sentences) - 2))
    sentences[i] = "[detail removed]"
    return ". ".join(sentences)


def response_text(rng: random.Random, tone: str, screen_name: str) -> str:
    opening = pick(rng, RESPONSE_OPENINGS).format(name=screen_name)
    bank = RESPONSE_POSITIVE if tone == "positive" else RESPONSE_NEGATIVE
    middle = rng.choices(bank, k=1 + int(rng.random() * 3))
    return " ".join([opening, *middle]) + "\n\n" + pick(rng, RESPONSE_CLOSINGS)


def person_name(rng: random.Random) -> str:
    return f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}"
