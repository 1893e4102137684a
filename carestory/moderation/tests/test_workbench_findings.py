"""The workbench reads the findings the check job kept instead of analysing the story on every
view; after any edit (or a new version of the checks) it analyses the text it shows, and keeps
that for the next view."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from carestory.automod import Finding, analyse
from carestory.automod import findings as kept
from carestory.automod.findings import findings_from_json, findings_key, findings_to_json
from carestory.moderation.selectors import story_findings
from carestory.stories.models import Story, StoryFindings
from carestory.stories.services import story_author_edit, story_automod_refresh
from conftest import World
from tests.factories import StoryFactory

from .test_workbench import form_data, signed_in

pytestmark = pytest.mark.django_db

EMAIL = "jo.bloggs@example.com"
BODY = f"Please email me at {EMAIL} about my stay on the ward."


class Analyses:
    """Counts the analyses the workbench runs (the check job's are not counted)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []

        def counting(*, title: str, body: str, **kwargs: Any) -> Any:
            self.texts.append(body)
            return analyse(title=title, body=body, **kwargs)

        monkeypatch.setattr("carestory.moderation.selectors.analyse", counting)


def checked_story(world: World, body: str = BODY) -> Story:
    story: Story = StoryFactory(services=[world.ward], original_body=body)
    story_automod_refresh(story=story)  # what the worker's stories.check job does
    return story


def suggestion_texts(html: str) -> list[str]:
    start = html.index('id="suggestions-heading"')
    section = html[start : html.index("</ol>", start)] if "<ol" in html[start:] else ""
    return [chunk.split("</q>")[0] for chunk in section.split("<q>")[1:]]


def test_the_check_job_keeps_its_findings_and_the_workbench_reads_them(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = checked_story(world)
    kept_row = StoryFindings.objects.get(story=story)
    assert any(item["label"] == "EMAIL" for item in kept_row.findings)
    analyses = Analyses(monkeypatch)

    page = signed_in(world.moderator).get(reverse("moderation:story", args=[story.public_id]))

    assert analyses.texts == []  # nothing analysed while the moderator waits
    html = page.content.decode()
    assert EMAIL in suggestion_texts(html)
    assert "The automatic checks are not available just now" not in html


def test_the_kept_findings_are_what_a_fresh_analysis_finds(world: World) -> None:
    story = checked_story(world)

    checked = story_findings(story=Story.objects.get(pk=story.pk))

    assert checked is not None and checked.kept
    assert checked.findings == analyse(title=story.title, body=story.body).findings


def test_after_the_authors_edit_the_workbench_analyses_the_new_text_and_keeps_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = checked_story(world)
    new_body = "Ring me on 07700 900123 please, the ward was lovely."
    story_author_edit(story=story, author=story.author, title=story.title, body=new_body, version=1)
    analyses = Analyses(monkeypatch)
    client = signed_in(world.moderator)
    url = reverse("moderation:story", args=[story.public_id])

    first = client.get(url).content.decode()
    second = client.get(url).content.decode()

    assert analyses.texts == [new_body]  # once, then kept
    assert "07700 900123" in suggestion_texts(first)
    assert EMAIL not in suggestion_texts(first)  # the old text's findings are not used
    assert suggestion_texts(second) == suggestion_texts(first)
    assert "The automatic checks have not run on this version yet" in first  # still unchecked


def test_after_a_moderators_edit_the_offsets_are_those_of_the_saved_text(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = checked_story(world)
    client = signed_in(world.moderator)
    url = reverse("moderation:story", args=[story.public_id])
    client.get(url)  # claims it
    edited = f"A longer opening sentence comes first now. {BODY}"
    assert client.post(url, form_data(story, body=edited, action="save")).status_code == 302
    analyses = Analyses(monkeypatch)

    html = client.get(url).content.decode()

    assert analyses.texts == [edited]
    assert EMAIL in suggestion_texts(html)
    saved = Story.objects.get(pk=story.pk)
    checked = story_findings(story=saved)
    assert checked is not None and checked.kept  # what the view analysed was kept
    email = next(f for f in checked.findings if f.label == "EMAIL")
    assert saved.body[email.start : email.end] == EMAIL


def test_a_new_version_of_the_checks_is_not_served_the_old_findings(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = checked_story(world)
    monkeypatch.setattr(kept, "checks_version", lambda: "a newer set of rules")
    analyses = Analyses(monkeypatch)

    signed_in(world.moderator).get(reverse("moderation:story", args=[story.public_id]))

    assert analyses.texts == [story.body]


def test_failing_checks_with_nothing_kept_leave_the_workbench_working(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = StoryFactory(services=[world.ward], original_body=BODY)  # never checked

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("the checks are broken")

    monkeypatch.setattr("carestory.moderation.selectors.analyse", broken)

    page = signed_in(world.moderator).get(reverse("moderation:story", args=[story.public_id]))

    assert page.status_code == 200
    assert "The automatic checks are not available just now" in page.content.decode()
    assert not StoryFindings.objects.filter(story=story).exists()


def test_the_key_names_the_text_exactly_and_the_language() -> None:
    assert findings_key(title="ab", body="c") != findings_key(title="a", body="bc")
    assert findings_key(title="a", body="b") == findings_key(title="a", body="b")
    with translation.override("cy"):
        welsh = findings_key(title="a", body="b")
    with translation.override("en-gb"):
        english = findings_key(title="a", body="b")
    assert welsh != english


def test_the_checks_version_reads_the_checks_themselves() -> None:
    """The digest covers the automod package as it is (its code, rules and model), not a
    folder that may have moved away (it did once: every version was the digest of nothing)."""
    names = {p.relative_to(kept._AUTOMOD).as_posix() for p in kept._AUTOMOD.rglob("*")}
    assert {"engine.py", "rules/names.json", "models/criticality.json"} <= names
    assert kept.checks_version() != hashlib.sha256().hexdigest()


def test_the_checks_version_changes_with_any_file_of_the_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "names.txt").write_text("alice\n")
    monkeypatch.setattr(kept, "_AUTOMOD", tmp_path)
    kept.checks_version.cache_clear()
    try:
        before = kept.checks_version()
        (tmp_path / "rules" / "names.txt").write_text("alice\nbob\n")
        kept.checks_version.cache_clear()
        assert kept.checks_version() != before
    finally:
        kept.checks_version.cache_clear()


def test_findings_survive_the_round_trip() -> None:
    findings = [
        Finding("body", 3, 9, "EMAIL", "email", "warning", "[email address removed]", "Hm."),
        Finding("title", 0, 4, "PERSON_NAME", "names", "info", None, ""),
    ]
    assert findings_from_json(findings_to_json(findings)) == findings
