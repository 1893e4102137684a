"""analyse(): output shape, overlaps, flags, criticality, tags, guidance messages and the
evaluation helpers."""

from __future__ import annotations

import dataclasses
from itertools import pairwise

import pytest

from carestory.automod import FLAGS, SPAN_LABELS, Analysis, Finding, analyse
from carestory.automod.criticality import LEVELS, NaiveBayes, agreement, features, train
from carestory.automod.evaluation import evaluate, parse_markup, parse_source
from carestory.automod.guidance import author_messages
from carestory.stories.models import Criticality
from carestory.stories.vocabulary import ASPECTS, FEELINGS


def flags_of(body: str, title: str = "My story") -> list[str]:
    return analyse(title=title, body=body, suggestions=False).flags


def test_analyse_returns_the_documented_shape() -> None:
    title = "Thank you Dr Amadi"
    body = (
        "My husband was seen on 4th May at 3pm. Call me on 07700 900 555. It was bloody brilliant."
    )
    analysis = analyse(title=title, body=body)
    assert isinstance(analysis, Analysis)
    assert all(isinstance(f, Finding) for f in analysis.findings)
    for finding in analysis.findings:
        assert finding.field in ("title", "body")
        assert finding.label in SPAN_LABELS
        text = title if finding.field == "title" else body
        assert 0 <= finding.start < finding.end <= len(text)
        assert finding.severity in ("info", "warning", "urgent")
        assert finding.rule and finding.message
    assert {f.label for f in analysis.findings} >= {
        "PERSON_NAME",
        "GENDERED_RELATION",
        "DATE",
        "TIME",
        "PHONE",
        "PROFANITY",
    }
    assert set(analysis.flags) <= set(FLAGS)
    assert analysis.criticality in Criticality.values
    slugs = {s for s, _ in ASPECTS} | {s for s, _, _ in FEELINGS}
    assert all(slug in slugs and polarity in (-1, 0, 1) for slug, polarity in analysis.tags)
    # Findings of one field never overlap and come in text order.
    for field in ("title", "body"):
        found = [f for f in analysis.findings if f.field == field]
        assert found == sorted(found, key=lambda f: f.start)
        assert all(a.end <= b.start for a, b in pairwise(found))


def test_interface_field_names_are_stable() -> None:
    assert [f.name for f in dataclasses.fields(Finding)][:8] == [
        "field", "start", "end", "label", "rule", "severity", "suggestion", "message",
    ]  # fmt: skip
    assert [f.name for f in dataclasses.fields(Analysis)][:4] == [
        "findings",
        "flags",
        "criticality",
        "tags",
    ]


def test_an_email_beats_the_name_inside_it() -> None:
    body = "write to sophie.clarke@example.com"
    labels = [f.label for f in analyse(title="x", body=body).findings]
    assert labels == ["EMAIL"]


def test_empty_story() -> None:
    analysis = analyse(title="", body="")
    assert analysis.findings == [] and analysis.flags == [] and analysis.criticality == 0


# --- Flags -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "I can't stop thinking about killing myself and I have the pills ready.",
        "My brother says he wants to die and they sent him home anyway.",
        "I've been self-harming again since the clinic closed.",
        "The carer slapped her and now she's frightened of him.",
        "Money keeps going missing from Nan's purse when the agency sends the new man.",
        "He was discharged at 2am on his own with no key to get in.",
        "Mum has lost nearly 3 stone in the home and sits in a soiled pad all morning.",
        "I told them I walked into a door. I wish I'd said more.",
        "I'm going to wait for him after work and batter him.",
        "Sometimes I think everyone would be better off without me.",
    ],
)
def test_safeguarding_signals(body: str) -> None:
    assert "SAFEGUARDING" in flags_of(body)


@pytest.mark.parametrize(
    "body",
    [
        "The suicide prevention team ran a helpful session for carers.",
        "They asked whether I had thoughts of harming myself (I hadn't) and moved on.",
        "Ten years ago I took an overdose. Today I'm well and working in recovery services.",
        "The wait was killing me but the nurse was lovely.",
        "Daytime TV in the waiting room - shoot me now.",
        "Dad fell at home, waited hours for the ambulance, and has since recovered well.",
        "Someone should give her a slap, honestly.",
    ],
)
def test_not_safeguarding(body: str) -> None:
    assert "SAFEGUARDING" not in flags_of(body)


@pytest.mark.parametrize(
    "body",
    [
        "I have made a formal complaint to the practice.",
        "We are taking legal advice and will see a solicitor.",
        "I have taken this to the Ombudsman.",
        "How do I complain about my dentist?",
        "I went through PALS in the end.",
    ],
)
def test_complaint(body: str) -> None:
    assert "COMPLAINT" in flags_of(body)


@pytest.mark.parametrize(
    "body",
    [
        "Can't complain, they were great.",
        "I don't want to make a formal complaint, just to be heard.",
        "She doesn't want to complain in case it makes things worse.",
        "If it happens again I will make a formal complaint.",
        "My only complaint is the parking.",
        "My pals came to visit every day.",
    ],
)
def test_not_complaint(body: str) -> None:
    assert "COMPLAINT" not in flags_of(body)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        (
            "Mobility aids",
            "Free home assessments! Call now on 0808 157 0123. Quote SAVE20 for 20% off.",
        ),
        (
            "Stop the cuts",
            "Sign the petition to save our hospital and vote them out at the next election.",
        ),
        (
            "Vacancy",
            "Are you recruiting healthcare assistants? I have 5 years experience. CV attached.",
        ),
        ("test", "test 123"),
        ("Take my story down", "Please delete my story from last week, I posted it by mistake."),
        (
            "Study",
            "I'm a student doing a dissertation on A&E waits. Participants wanted for interviews.",
        ),
    ],
)
def test_not_an_experience(title: str, body: str) -> None:
    assert "NOT_AN_EXPERIENCE" in flags_of(body, title)


def test_a_question_that_describes_care_is_an_experience() -> None:
    body = (
        "Is it normal to wait this long? I was referred in January and was told the list is shut."
    )
    assert "NOT_AN_EXPERIENCE" not in flags_of(body)


def test_all_caps() -> None:
    assert "ALL_CAPS" in flags_of(
        "THEY LEFT ME IN THE CORRIDOR ALL NIGHT AND NOBODY CAME.", "SHOCKING"
    )
    assert "ALL_CAPS" not in flags_of("They left me in the corridor. NOBODY came. A&E, NHS, ICU.")


@pytest.mark.parametrize(
    "body",
    [
        "The nurses are lazy cows who sit around all day.",
        "The receptionist is a useless prick.",
        "Half of them can't speak English. Send them home.",
        "It's full of junkies wasting everyone's time.",
    ],
)
def test_offensive(body: str) -> None:
    assert "OFFENSIVE" in flags_of(body)


@pytest.mark.parametrize(
    "body",
    [
        "Absolute shitshow of a service, sort it out.",
        "The care was fucking brilliant.",
        "The doctor was dismissive and wrong, and I'm furious.",
        "They treated us like animals in that waiting room.",
    ],
)
def test_not_offensive(body: str) -> None:
    assert "OFFENSIVE" not in flags_of(body)


def test_flag_reasons_name_rules_not_words() -> None:
    analysis = analyse(title="x", body="I want to end my life. My email is kim@example.org.")
    assert "SAFEGUARDING" in analysis.reasons
    assert all("kim" not in reason for reasons in analysis.reasons.values() for reason in reasons)


# --- Criticality and tags ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "lowest", "highest"),
    [
        ("The staff were kind and everything went smoothly. Thank you.", 0, 0),
        ("Lovely staff. My only gripe is that the signage was poor.", 1, 1),
        ("The appointment was cancelled twice with no call.", 1, 3),
        ("I was left in agony for hours and nobody checked on me.", 3, 4),
        ("They gave my mother the wrong medication and she fell twice.", 4, 4),
        (
            "My husband died because they missed the sepsis. We have started a negligence claim.",
            5,
            5,
        ),
    ],
)
def test_suggested_criticality(body: str, lowest: int, highest: int) -> None:
    level = analyse(title="My story", body=body).criticality
    assert level is not None and lowest <= level <= highest


def test_adverts_are_not_critical() -> None:
    body = "Tired of waiting? Order now at www.fastclinic.example and get 30% off. Limited stock!"
    assert analyse(title="Skip the queue", body=body).criticality == 0


def test_tags_with_polarity() -> None:
    body = (
        "The staff were so kind and caring. The food was cold and awful. I was anxious all night."
    )
    tags = analyse(title="Ward stay", body=body).tags
    assert ("staff-attitude", 1) in tags
    assert ("food", -1) in tags
    assert ("anxious", -1) in tags


def test_naive_bayes_learns_and_round_trips(tmp_path: pytest.TempPathFactory) -> None:
    rows = (
        [("wonderful kind staff", 0)] * 5
        + [("rude staff long wait", 3)] * 5
        + [("dirty ward", 2)] * 3
    )
    model = train(rows, min_count=1)
    assert model.predict_text("kind and wonderful") == 0
    assert model.predict_text("so rude, such a wait") == 3
    path = tmp_path / "model.json"  # type: ignore[operator]
    model.save(path)
    again = NaiveBayes.load(path)
    assert again.predict_text("so rude, such a wait") == 3
    assert abs(sum(again.probabilities("dirty")) - 1) < 1e-9


def test_features_mark_negation() -> None:
    assert "not_helpful" in features("They were not helpful at all")
    assert "helpful" in features("They were helpful. Not rude")


def test_agreement() -> None:
    assert agreement([(0, 0), (1, 3), (2, 3), (5, 5)]) == {"n": 4, "exact": 0.5, "within_one": 0.75}
    assert len(LEVELS) == len(Criticality.values)


def test_the_shipped_model_is_small_and_loads() -> None:
    from carestory.automod.criticality import MODEL_FILE, default_model

    assert MODEL_FILE.stat().st_size < 2 * 1024 * 1024
    model = default_model()
    assert model is not None
    probs = model.probabilities("Rude staff and a six hour wait")
    assert len(probs) == 6 and abs(sum(probs) - 1) < 1e-6


# --- Guidance messages -------------------------------------------------------------------


def test_author_messages_never_repeat_what_was_found() -> None:
    body = "Ask for Dr Villiers on 07700 900 888 or villiers@example.com, NHS number 943 476 5919."
    messages = author_messages(analyse(title="x", body=body, suggestions=False))
    labels = [m["label"] for m in messages]
    assert labels[:3] == ["NHS_NUMBER", "EMAIL", "PHONE"]
    joined = " ".join(m["text"] for m in messages)
    for secret in ("Villiers", "07700", "villiers@", "943 476"):
        assert secret not in joined


def test_author_messages_signpost_help_first() -> None:
    messages = author_messages(
        analyse(title="x", body="I don't want to be here any more.", suggestions=False)
    )
    assert messages[0]["kind"] == "support"
    assert "116 123" in messages[0]["text"] and "999" in messages[0]["text"]


# --- Evaluation helpers ------------------------------------------------------------------


def test_parse_markup() -> None:
    text, spans = parse_markup("Hi [[PERSON_NAME|Jo]], call [[PHONE|07700 900 111]].", field="body")
    assert text == "Hi Jo, call 07700 900 111."
    assert [(s["start"], s["end"], s["label"]) for s in spans] == [
        (3, 5, "PERSON_NAME"),
        (12, 25, "PHONE"),
    ]
    with pytest.raises(ValueError):
        parse_markup("[[NOPE|x]]", field="body")


def test_parse_source_and_evaluate() -> None:
    source = (
        "# comment\n"
        "=== t-1 | flags: COMPLAINT | criticality: mildly critical\n"
        "title: Hello [[PERSON_NAME|Priya]]\n"
        "body: I made a formal complaint.\n"
        "Second line at [[TIME|4pm]].\n"
        "=== t-2 | flags: | criticality: not critical\n"
        "title: Fine\n"
        "body: All good.\n"
    )
    records = parse_source(source)
    assert [r["id"] for r in records] == ["t-1", "t-2"]
    assert records[0]["body"] == "I made a formal complaint.\nSecond line at 4pm."
    result = evaluate(records)
    assert result["records"] == 2
    assert result["spans"]["TIME"]["recall"] == 1.0
    assert result["flags"]["COMPLAINT"] == {
        "gold": 1,
        "predicted": 1,
        "precision": 1.0,
        "recall": 1.0,
    }
    assert result["identifying"]["gold"] == 2
