"""Each span rule, with examples that must be found and hard negatives that must not.

The examples are written for these tests (not taken from the shared dev set)."""

from __future__ import annotations

import pytest

from carestory.automod import analyse
from carestory.automod.contact import nhs_number_is_valid


def spans(body: str, title: str = "A story") -> list[tuple[str, str]]:
    """(label, text) for the body's findings."""
    analysis = analyse(title=title, body=body, suggestions=False)
    return [(f.label, body[f.start : f.end]) for f in analysis.findings if f.field == "body"]


def labelled(body: str, label: str) -> list[str]:
    return [text for found_label, text in spans(body) if found_label == label]


# --- Contact details -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("You can reach me on pat.o.brien@example.org any time.", "pat.o.brien@example.org"),
        ("Write to ward.clerk@trust.example.nhs.uk please.", "ward.clerk@trust.example.nhs.uk"),
        ("email me on jane dot doe at example dot com thanks", "jane dot doe at example dot com"),
        ("email me: jd [at] example [dot] org", "jd [at] example [dot] org"),
    ],
)
def test_email_addresses(body: str, expected: str) -> None:
    assert labelled(body, "EMAIL") == [expected]


@pytest.mark.parametrize(
    "body",
    [
        "Please be @ the clinic for ten.",
        "We looked at example dot com on the leaflet.",  # no name, not introduced as an email
        "I'll be at home at the weekend.",
    ],
)
def test_not_email_addresses(body: str) -> None:
    assert labelled(body, "EMAIL") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Ring me on 07700 900 461 after six.", "07700 900 461"),
        ("My mobile is 07700900462.", "07700900462"),
        ("The clinic line is 0113 496 0999 but nobody answers.", "0113 496 0999"),
        ("Call +44 7700 900 463 if you can help.", "+44 7700 900 463"),
        ("Call +44 (0)20 7946 0958 please.", "+44 (0)20 7946 0958"),
        ("Their number (01632) 960 123 rang out.", "(01632) 960 123"),
        ("Freephone 0808 157 0999 was closed.", "0808 157 0999"),
    ],
)
def test_phone_numbers(body: str, expected: str) -> None:
    assert labelled(body, "PHONE") == [expected]


@pytest.mark.parametrize(
    "body",
    [
        "I rang 999 and then 111 and then Samaritans on 116 123.",
        "It cost £1,250.00 for the crown.",
        "She takes 2.5mg twice a day.",
        "My NHS number is 943 476 5919.",
    ],
)
def test_not_phone_numbers(body: str) -> None:
    assert labelled(body, "PHONE") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("See https://www.example.org/help?x=1 for details.", "https://www.example.org/help?x=1"),
        ("My blog is at www.my-recovery.example/posts.", "www.my-recovery.example/posts"),
        ("There's a leaflet at nhs.uk/conditions/gout.", "nhs.uk/conditions/gout"),
        ("Book at bookings.surgery.example today", "bookings.surgery.example"),
    ],
)
def test_urls(body: str, expected: str) -> None:
    assert labelled(body, "URL") == [expected]


@pytest.mark.parametrize(
    "body",
    [
        "I read about it on NHS.UK and felt better.",
        "Dr. Okoro was kind.",
        "He said it was fine, e.g. a small cyst.",
    ],
)
def test_not_urls(body: str) -> None:
    assert labelled(body, "URL") == []


# --- NHS numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("943 476 5919", True),  # the NHS's own published example
        ("9434765919", True),
        ("943-476-5919", True),
        ("943 476 5918", False),
        ("999 000 0000", False),  # check digit would be 10: never issued
        ("401 023 2137", True),
        ("123", False),
    ],
)
def test_nhs_number_check_digit(number: str, valid: bool) -> None:
    assert nhs_number_is_valid(number) is valid


def test_nhs_numbers_are_labelled_valid_or_not_and_the_rule_says_which() -> None:
    body = "My NHS number is 943 476 5919 and my wife's NHS no. is 9434765918."
    analysis = analyse(title="x", body=body, suggestions=False)
    found = {body[f.start : f.end]: f.rule for f in analysis.findings if f.label == "NHS_NUMBER"}
    assert found == {
        "943 476 5919": "nhs-number-check-digit-valid",
        "9434765918": "nhs-number-check-digit-invalid",
    }


@pytest.mark.parametrize(
    "body",
    [
        "Use voucher code 9434765919 at the till.",  # valid check digit, but a code
        "Order reference 4010232137 never arrived.",
        "The booking number was 6084917325.",  # unbroken, not presented as an NHS number
    ],
)
def test_ten_digit_numbers_that_are_not_nhs_numbers(body: str) -> None:
    assert labelled(body, "NHS_NUMBER") == []


# --- Postcodes and addresses -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("They sent it to SW1A 1AA by mistake.", ["SW1A 1AA"]),
        ("new address is m14 6hr", ["m14 6hr"]),
        ("I live round the LS8 area.", ["LS8"]),
        ("I moved to NE6 last year.", ["NE6"]),
    ],
)
def test_postcodes(body: str, expected: list[str]) -> None:
    assert labelled(body, "POSTCODE") == expected


@pytest.mark.parametrize(
    "body",
    [
        "Stuck on the M6 for an hour.",
        "My B12 was low so I have injections.",
        "Use E45 on the dry patches.",
        "An ST3 registrar saw me.",
        "We hit our Q1 targets.",
    ],
)
def test_postcode_lookalikes(body: str) -> None:
    assert labelled(body, "POSTCODE") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Send it to 17 Orchard Way please.", ["17 Orchard Way"]),
        ("I live at 3a acacia avenue now.", ["3a acacia avenue"]),
        ("She's at Flat 2, 40 Kings Court.", ["Flat 2, 40 Kings Court"]),
        ("I was in bed 12 on Ward 4C.", ["bed 12", "Ward 4C"]),
        ("Moved from bay 2, bed 6 to room 3.", ["bay 2, bed 6", "room 3"]),
    ],
)
def test_addresses(body: str, expected: list[str]) -> None:
    assert labelled(body, "ADDRESS") == expected


@pytest.mark.parametrize(
    "body",
    [
        "The 30-bed unit was full.",
        "It was a 10 minute drive.",
        "Three nights on Rowan Ward were fine.",
        "We waited 3 hours in the car park.",
    ],
)
def test_not_addresses(body: str) -> None:
    assert labelled(body, "ADDRESS") == []


# --- Dates, times and ages -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("I was admitted on 21/06/2022.", ["21/06/2022"]),
        ("Seen on the 7th of March.", ["the 7th of March"]),
        ("Seen on Wednesday 7th March.", ["Wednesday 7th March"]),
        ("Since October 12th nothing.", ["October 12th"]),
        ("We went back on the 22nd.", ["the 22nd"]),
        ("It was Christmas Eve and the ward was quiet.", ["Christmas Eve"]),
        ("The letter came 09.11.21 at last.", ["09.11.21"]),
        ("Booked for 3 Aug.", ["3 Aug"]),
    ],
)
def test_dates(body: str, expected: list[str]) -> None:
    assert labelled(body, "DATE") == expected


@pytest.mark.parametrize(
    "body",
    [
        "I'd rate them 9/10.",
        "My blood pressure was 140/90.",
        "Open 24/7, which helps.",
        "In March it got worse.",
        "It was the 3rd time this week.",
        "Last spring we moved.",
        "On Tuesday I rang again.",
    ],
)
def test_not_dates(body: str) -> None:
    assert labelled(body, "DATE") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("They came at 6.45am.", ["6.45am"]),
        ("Discharged at 23:10.", ["23:10"]),
        ("They came at 9.30 every day.", ["9.30"]),
        ("Still there at half 11 at night.", ["half 11 at night"]),
        ("Home by 5 o'clock.", ["5 o'clock"]),
        ("Woke at 2 in the morning.", ["2 in the morning"]),
        ("Sent home after midnight.", ["midnight"]),
    ],
)
def test_times(body: str, expected: list[str]) -> None:
    assert labelled(body, "TIME") == expected


@pytest.mark.parametrize(
    "body",
    [
        "We waited 4 hours and 20 mins.",
        "She takes 2.5mg each morning.",
        "It cost £12.50 to park.",
        "Open 24/7.",
        "They come twice a day.",
        "We stayed overnight.",
    ],
)
def test_not_times(body: str) -> None:
    assert labelled(body, "TIME") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("My 84-year-old neighbour fell.", ["84-year-old"]),
        ("Our 6 week old was poorly.", ["6 week old"]),
        ("My son (aged 4) was brave.", ["aged 4"]),
        ("My sister is 52 and still waiting.", ["52"]),
        ("She's 97 and sharp as anything.", ["97"]),
        ("Dad turned 90 in hospital.", ["90"]),
        ("my 19yo was sent home", ["19yo"]),
    ],
)
def test_ages(body: str, expected: list[str]) -> None:
    assert labelled(body, "AGE") == expected


@pytest.mark.parametrize(
    "body",
    [
        "I'm 34 weeks pregnant.",
        "He's 6 foot tall... no, he was 5 minutes late.",
        "She was elderly and frail.",
        "I've been waiting for 18 months.",
        "The nurse looked about 15.",
    ],
)
def test_not_ages(body: str) -> None:
    assert labelled(body, "AGE") == []


# --- People ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Thank you to Dr Okoro and Nurse Bethany.", ["Dr Okoro", "Nurse Bethany"]),
        ("seen by dr patel who was lovely", ["dr patel"]),
        ("MRS HARGREAVE WOULD NOT LISTEN TO US AT ALL", ["MRS HARGREAVE"]),
        ("Our midwife, Folake, was calm.", ["Folake"]),
        ("The physio Jordan had me walking.", ["Jordan"]),
        ("A porter called Hope wheeled me down.", ["Hope"]),
        ("Dr K. said it was fine.", ["Dr K."]),
        ("Staff Nurse Mbeki kept us informed.", ["Staff Nurse Mbeki"]),
        ("Sister Agnes ran the ward.", ["Sister Agnes"]),
        ("Thank you Gareth Llewellyn for everything.", ["Gareth Llewellyn"]),
        ("Chloe and Tariq on the night shift were great.", ["Chloe", "Tariq"]),
        ("Will was the best student nurse.", ["Will"]),
        ("Grandad Wilfred loved the garden.", ["Wilfred"]),
    ],
)
def test_person_names(body: str, expected: list[str]) -> None:
    assert labelled(body, "PERSON_NAME") == expected


@pytest.mark.parametrize(
    "body",
    [
        "The Macmillan nurse was wonderful.",
        "I was sent to the Princess Diana wing, then the Queen Elizabeth Hospital.",
        "I looked it up on Dr Google first.",
        "He has Alzheimer's and Parkinson's.",
        "I will always hope for the best; it was a joy.",
        "The sunny side room was lovely.",
        "She was put on metformin and sertraline.",
        "We were on Willow Ward at the Royal Infirmary.",
        "They have Bupa cover.",
        "The Ward Sister was kind.",
        "Friday was busy at A&E.",
    ],
)
def test_not_person_names(body: str) -> None:
    assert labelled(body, "PERSON_NAME") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "The short bald porter with the beard was rude.",
            ["The short bald porter with the beard"],
        ),
        (
            "The HCA with the nose ring and the Geordie accent ignored me.",
            ["The HCA with the nose ring and the Geordie accent"],
        ),
        ("That skinny one on nights never came.", ["That skinny one on nights"]),
        (
            "a doctor with blue glasses who was very young, came",
            ["a doctor with blue glasses who was very young"],
        ),
    ],
)
def test_staff_descriptors(body: str, expected: list[str]) -> None:
    assert labelled(body, "STAFF_DESCRIPTOR") == expected


@pytest.mark.parametrize(
    "body",
    [
        "The practice manager never replied.",
        "The tea trolley lady was lovely.",
        "The nurse in charge came over.",
        "The one who saw me was rushed.",
        "The new nurse was kind.",
    ],
)
def test_not_staff_descriptors(body: str) -> None:
    assert labelled(body, "STAFF_DESCRIPTOR") == []


@pytest.mark.parametrize(
    ("body", "expected", "suggestions"),
    [
        ("My husband and our daughter came.", ["husband", "daughter"], ["partner", "child"]),
        ("Mum's carer was late.", ["Mum"], ["Parent"]),
        (
            "My stepdad and my sister-in-law visited.",
            ["stepdad", "sister-in-law"],
            ["step-parent", "relative"],
        ),
        ("my bf drove me in", ["bf"], ["partner"]),
        ("MY WIFE WAS IGNORED", ["WIFE"], ["PARTNER"]),
        ("i held my wifes hand", ["wife"], ["partner"]),
    ],
)
def test_gendered_relations_with_neutral_suggestions(
    body: str, expected: list[str], suggestions: list[str]
) -> None:
    analysis = analyse(title="x", body=body, suggestions=False)
    found = [f for f in analysis.findings if f.label == "GENDERED_RELATION"]
    assert [body[f.start : f.end] for f in found] == expected
    assert [f.suggestion for f in found] == suggestions


@pytest.mark.parametrize(
    "body",
    [
        "Every new mum deserves this support.",
        'They called me "mum" all day.',
        "The mother and baby unit was calm.",
        "Sister Agnes ran the ward.",
        "Father Michael visited.",
        "The Ward Sister was kind.",
        "My partner and my other half... and our eldest.",
        "Mums and dads were welcome.",
        "BF support was brilliant.",
    ],
)
def test_not_gendered_relations(body: str) -> None:
    assert labelled(body, "GENDERED_RELATION") == []


# --- Profanity ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("It was a shit show.", ["shit"]),
        ("Absolute bollocks from start to finish.", ["bollocks"]),
        ("What a f*cking joke.", ["f*cking"]),
        ("Total sh1t service.", ["sh1t"]),
        ("The wait was b.l.o.o.d.y awful.", ["b.l.o.o.d.y"]),
        ("CRAP SERVICE", ["CRAP"]),
        ("Bloody hell, four hours.", ["Bloody"]),
    ],
)
def test_profanity(body: str, expected: list[str]) -> None:
    assert labelled(body, "PROFANITY") == expected


@pytest.mark.parametrize(
    "body",
    [
        "I had bloody diarrhoea for a week.",
        "A bloody nose that would not stop.",
        "We drove past Scunthorpe and Penistone.",
        "The assessment was thorough.",
        "A finger prick test showed my sugar was fine.",
        "The cocktail of drugs worked.",
    ],
)
def test_not_profanity(body: str) -> None:
    assert labelled(body, "PROFANITY") == []
