"""People: names, identifying descriptions of staff, and gendered relationship words.

Word lists: ``rules/first_names.txt`` and ``rules/nicknames.txt`` (plus Carestory's shared
``lib/data/first_names.txt``), ``rules/name_words.txt`` (names that are also words, which
need context), ``rules/common_words.txt``, ``rules/titles.txt``, ``rules/role_words.txt``,
``rules/not_names.txt``, ``rules/capitalised_non_names.txt``, ``rules/names.json``,
``rules/staff_descriptors.json`` and ``rules/gendered_relations.json``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cache
from typing import NamedTuple

from django.utils.translation import gettext as _

from carestory.automod import text as textlib
from carestory.automod.base import Context, Span
from carestory.automod.lexicon import (
    core_first_names,
    first_names,
    json_rules,
    name_words,
    word_list,
)

_TOKEN = re.compile(r"[A-Za-z]+(?:['\u2019](?![sS]\b)[A-Za-z]+)*(?:-[A-Za-z]+)*")


class Token(NamedTuple):
    start: int
    end: int
    text: str
    lower: str  # the form the word lists are compared with (curly apostrophe made straight)


def tokenize(text: str) -> list[Token]:
    return [
        Token(m.start(), m.end(), word, word.lower().replace("\u2019", "'"))
        for m in _TOKEN.finditer(text)
        for word in (m.group(0),)
    ]


def _adjacent(text: str, left: Token, right: Token, *, allow: str = "") -> bool:
    """Only spaces (and the characters in ``allow``) between two tokens, on one line."""
    between = text[left.end : right.start]
    return 0 < len(between) <= 3 and all(c == " " or c in allow for c in between)


@cache
def _edge_words(phrases: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The first and the last words of ``phrases``: a token that is neither starts or ends
    none of them, which spares joining words for almost every token."""
    return (
        frozenset(p.split(" ")[0] for p in phrases),
        frozenset(p.split(" ")[-1] for p in phrases),
    )


def _phrase_at(tokens: list[Token], i: int, phrases: frozenset[str], max_words: int = 3) -> int:
    """The number of tokens (longest first) from i that spell one of ``phrases``, or 0."""
    if not 0 <= i < len(tokens) or tokens[i].lower not in _edge_words(phrases)[0]:
        return 0
    for n in range(max_words, 0, -1):
        if i + n <= len(tokens) and " ".join(t.lower for t in tokens[i : i + n]) in phrases:
            return n
    return 0


def _phrase_ending(tokens: list[Token], j: int, phrases: frozenset[str], max_words: int = 3) -> int:
    """The number of tokens (longest first) ending at index j that spell one of ``phrases``."""
    if not 0 <= j < len(tokens) or tokens[j].lower not in _edge_words(phrases)[1]:
        return 0
    for n in range(max_words, 0, -1):
        if j - n + 1 >= 0 and " ".join(t.lower for t in tokens[j - n + 1 : j + 1]) in phrases:
            return n
    return 0


@cache
def _names_rules() -> dict[str, frozenset[str]]:
    rules = json_rules("names")
    return {key: frozenset(value) for key, value in rules.items() if isinstance(value, list)}


@cache
def _relations() -> frozenset[str]:
    return frozenset(json_rules("gendered_relations")["words"])


class _NameFinder:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.text = ctx.text
        self.tokens = tokenize(ctx.text)
        self.rules = _names_rules()
        self.first = first_names()
        self.ambiguous = name_words()
        self.common = word_list("common_words")
        self.non_names = word_list("capitalised_non_names")
        self.titles = word_list("titles")
        roles = word_list("role_words")
        self.roles = roles | frozenset(
            f"{r}s" for r in roles if " " not in r or r.split()[-1] != "s"
        )
        self.core = core_first_names()
        self.spans: list[Span] = []
        self.removed = _("[name removed]")  # translated once, not once per name
        self.name_indexes: set[int] = set()
        self._blocked_starts, self._blocked_ends = self._blocked_ranges()

    def _blocked_ranges(self) -> tuple[list[int], list[int]]:
        """Where the phrases of ``not_names`` are, merged into disjoint ranges in text order
        (starts and ends), so a token is looked up by bisection rather than against every
        range (which was quadratic when a phrase was repeated)."""
        ranges = []
        lowered = self.text.lower()
        for phrase in word_list("not_names"):
            for match in re.finditer(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered):
                ranges.append((match.start(), match.end()))
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(ranges):
            if ends and start <= ends[-1]:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        return starts, ends

    def _is_blocked(self, token: Token) -> bool:
        i = bisect_right(self._blocked_starts, token.start) - 1
        return i >= 0 and token.start < self._blocked_ends[i]

    # -- what a token looks like ----------------------------------------------------------

    def _cased(self, token: Token) -> bool:
        """Written the way a name is written in this story."""
        word = token.text
        if self.ctx.shouting:
            return word.isupper() or textlib.is_capitalised(word)
        if word[:1].isupper() and (not word.isupper() or len(word) <= 2):
            return True
        return self.ctx.lowercase and word.islower()

    def _plausible(self, token: Token, *, strong: bool = False) -> bool:
        """Could be a name given context: not a calendar or service word, not an ordinary
        word (unless it is a known name or the context is a title)."""
        low = token.lower
        if low in self.non_names or self._is_blocked(token) or len(low) < 2:
            return False
        if low in self.rules["title_non_names"]:
            return False
        if not self._cased(token):
            return False
        if token.text.isupper() and not self.ctx.shouting and len(token.text) > 1:
            return False  # an acronym (CAMHS, ICU)
        if low in self.first or low in self.ambiguous:
            return True
        if strong and token.text[:1].isupper():
            return True
        return low not in self.common and low not in _relations()

    def _is_place(self, i: int) -> bool:
        tokens = self.tokens
        if i + 1 < len(tokens) and _adjacent(self.text, tokens[i], tokens[i + 1]):
            nxt = tokens[i + 1]
            if nxt.lower in self.rules["place_after"] and nxt.text[:1].isupper():
                return True
        if i > 0 and _adjacent(self.text, tokens[i - 1], tokens[i], allow="."):
            prev = tokens[i - 1]
            if prev.lower in self.rules["place_before"] and prev.text[:1].isupper():
                return True
        return False

    def _capitalised_prefix(self, i: int) -> bool:
        """Preceded by a capitalised word that is neither a title, a role, a relation nor a
        name, in the middle of a sentence: a product or place ("FlexiJoint Max")."""
        if i == 0 or self.ctx.shouting:
            return False
        prev = self.tokens[i - 1]
        if not _adjacent(self.text, prev, self.tokens[i]) or not prev.text[:1].isupper():
            return False
        low = prev.lower
        if low in self.titles or low in self.roles or low in _relations() or low in self.first:
            return False
        if low in self.rules["thanks"] or low in self.rules["relations_extra"]:
            return False
        if textlib.at_sentence_start(self.text, prev.start):
            return low not in self.common and low not in self.non_names and len(low) > 3
        return True

    # -- adding spans ---------------------------------------------------------------------

    def _add(self, start_index: int, name_index: int, rule: str, *, title: bool = False) -> int:
        """Record a name from token ``start_index`` (a title, when ``title``) through the
        name at ``name_index`` and any surname after it. Returns the last index used."""
        tokens = self.tokens
        last = name_index
        name = tokens[name_index]
        end = name.end
        if len(name.text) == 1 and self.text[end : end + 1] == ".":
            end += 1  # an initial: "Dr J."
        elif not self.ctx.shouting or title:
            while last + 1 < len(tokens) and last - name_index < 2:
                nxt = tokens[last + 1]
                if not _adjacent(self.text, tokens[last], nxt):
                    break
                low = nxt.lower
                if self.ctx.shouting:
                    break
                if not (nxt.text[:1].isupper() and not nxt.text.isupper()):
                    break
                if low in self.non_names or low in self.common or low in self.rules["place_after"]:
                    break
                if low in self.ambiguous and low not in self.first:
                    break
                last += 1
                end = nxt.end
        start = tokens[start_index].start
        self.spans.append(Span(start, end, "PERSON_NAME", rule, self.removed))
        self.name_indexes.update(range(name_index, last + 1))
        return last

    # -- the rules ------------------------------------------------------------------------

    def find(self) -> list[Span]:
        tokens = self.tokens
        used: set[int] = set()
        i = 0
        while i < len(tokens):
            last = self._title_at(i)
            if last is None:
                last = self._role_at(i)
            if last is not None:
                used.update(range(i, last + 1))
                i = last + 1
                continue
            i += 1
        for i in range(len(tokens)):
            if i in used or i in self.name_indexes:
                continue
            self._plain_name_at(i)
        self._coordinated()
        return self.spans

    def _title_at(self, i: int) -> int | None:
        tokens = self.tokens
        n = _phrase_at(tokens, i, self.titles, max_words=2)
        if not n:
            return None
        title_tokens = tokens[i : i + n]
        title = " ".join(t.lower for t in title_tokens)
        j = i + n
        if j >= len(tokens):
            return None
        if not _adjacent(self.text, title_tokens[-1], tokens[j], allow="."):
            return None
        if title in self.rules["capitalised_titles"] and not title_tokens[0].text[:1].isupper():
            return None
        # "Dental nurse Sunny", "Practice nurse Eilidh": a longer role, the title stays out.
        role_len = _phrase_ending(tokens, i + n - 1, self.roles)
        if role_len > n and _adjacent(self.text, tokens[i + n - role_len], tokens[i]):
            return None
        if title in ("sister", "father", "mother", "brother") and i > 0:
            prev = tokens[i - 1].lower
            if prev in ("my", "our", "his", "her", "their", "your") or prev in ("ward", "night"):
                return None
        candidate = tokens[j]
        if self._is_blocked(title_tokens[0]) or self._is_blocked(candidate):
            return None
        if len(candidate.text) == 1 and candidate.text.isupper():
            return self._add(i, j, "name-title-initial", title=True)
        if self.ctx.shouting and candidate.text.isupper():
            low = candidate.lower
            if low in self.non_names or low in self.rules["title_non_names"]:
                return None
            if low in self.common and low not in self.first:
                return None
            self.spans.append(
                Span(tokens[i].start, candidate.end, "PERSON_NAME", "name-title", self.removed)
            )
            self.name_indexes.add(j)
            return j
        if candidate.text.islower():
            if title not in self.rules["lowercase_name_titles"]:
                return None
            low = candidate.lower
            if low in self.common or low in self.non_names or len(low) < 3:
                return None
            if low in self.rules["title_non_names"]:
                return None
            return self._add(i, j, "name-title-lowercase", title=True)
        if not self._plausible(candidate, strong=True):
            return None
        return self._add(i, j, "name-title", title=True)

    def _role_at(self, i: int) -> int | None:
        tokens = self.tokens
        n = _phrase_at(tokens, i, self.roles)
        if not n:
            return None
        # Take the longest role phrase that ends here ("the diabetes specialist midwife").
        j = i + n
        if j >= len(tokens):
            return None
        if not _adjacent(self.text, tokens[j - 1], tokens[j], allow=","):
            return None
        candidate = tokens[j]
        if not candidate.text[:1].isupper() and not (
            self.ctx.lowercase and candidate.text.islower()
        ):
            return None
        if candidate.text.islower() and candidate.lower not in self.first:
            return None
        if candidate.lower in self.roles or not self._plausible(candidate):
            return None
        if self._is_place(j):
            return None
        comma = "," in self.text[tokens[j - 1].end : candidate.start]
        # Apposition ("the nurse practitioner, Chris, didn't"), not a new sentence.
        if comma and textlib.at_sentence_start(self.text, candidate.start):
            return None
        last = self._add(j, j, "name-after-role")
        return last

    def _context_before(self, i: int) -> str | None:
        """Which context phrase (called, thanks, a relation) stands just before token i."""
        tokens = self.tokens
        text = self.text
        for key, allow in (("called", ""), ("thanks", ",!")):
            n = _phrase_ending(tokens, i - 1, self.rules[key], max_words=5)
            if n and _adjacent(text, tokens[i - 1], tokens[i], allow=allow):
                return key
            # "Thank you to Kev", "special thanks to Sophie"
            if i >= 2 and tokens[i - 1].lower == "to":
                n = _phrase_ending(tokens, i - 2, self.rules[key], max_words=5)
                if n and key == "thanks" and _adjacent(text, tokens[i - 1], tokens[i]):
                    return key
        if i > 0 and _adjacent(text, tokens[i - 1], tokens[i], allow=","):
            prev = tokens[i - 1].lower
            if prev in _relations() or prev in self.rules["relations_extra"]:
                return "relation"
        return None

    def _plain_name_at(self, i: int) -> None:
        token = self.tokens[i]
        low = token.lower
        if not self._cased(token) or self._is_blocked(token):
            return
        if low in self.non_names:
            return
        context = self._context_before(i)
        known = low in self.first
        ambiguous = low in self.ambiguous and not known
        lower_word = self.ctx.lowercase and token.text.islower()
        if ambiguous and lower_word and context != "called":
            return
        if self._is_place(i):
            return
        if known and not ambiguous:
            if token.text.islower() and (not self.ctx.lowercase or low not in self.core):
                return
            if self._capitalised_prefix(i) and context is None:
                return
            self._add(i, i, "name-first-name" if context is None else f"name-{context}")
            return
        if context is not None and self._plausible(token):
            if token.text.islower() and context != "called":
                return
            self._add(i, i, f"name-{context}")
            return
        if ambiguous and token.text[:1].isupper() and not token.text.isupper():
            nxt = self.tokens[i + 1] if i + 1 < len(self.tokens) else None
            verb = nxt is not None and nxt.lower in self.rules["verbs_after"]
            if verb and nxt is not None and _adjacent(self.text, token, nxt):
                self._add(i, i, "name-word-before-verb")

    def _coordinated(self) -> None:
        """ "Gemma and Raj", "Kev & Sophie": a capitalised word joined to a name is a name."""
        tokens = self.tokens
        for i, token in enumerate(tokens):
            if i in self.name_indexes or not token.text[:1].isupper() or token.text.isupper():
                continue
            for step in (-2, 2):
                other = i + step
                if not 0 <= other < len(tokens) or other not in self.name_indexes:
                    continue
                middle = tokens[(i + other) // 2]
                if middle.lower != "and":
                    continue
                low = token.lower
                if low in self.non_names or (low in self.common and low not in self.ambiguous):
                    continue
                if self._is_place(i) or self._is_blocked(token):
                    continue
                if textlib.at_sentence_start(self.text, token.start) and low not in self.first:
                    continue
                self._add(i, i, "name-coordinated")
                break


def find_names(ctx: Context) -> list[Span]:
    return _NameFinder(ctx).find()


# --- Staff descriptors -------------------------------------------------------------------


@cache
def _descriptor_rules() -> tuple[
    frozenset[str], frozenset[str], frozenset[str], frozenset[str], re.Pattern[str], int, int
]:
    rules = json_rules("staff_descriptors")
    features = "|".join(sorted((re.escape(f) for f in rules["features"]), key=len, reverse=True))
    shifts = "|".join(sorted((re.escape(s) for s in rules["shift_phrases"]), key=len, reverse=True))
    det = r"(?:the|a|an|his|her|their|big|long|short|bright|massive|huge)"
    feature = rf"(?:{det}\s+)?(?:[\w'-]+\s+){{0,3}}?(?:{features})s?\b"
    # At most eight features after the first: each role of a long "with X and Y and ..." chain
    # would otherwise read the chain to its end (O(n²)).
    with_part = rf"with\s+{feature}(?:,?\s+and\s+{feature}){{0,8}}"
    # Matched at the end of the role (``match(text, pos)``), so no "^" and no copy of the rest
    # of the text for each role.
    after = re.compile(
        rf"(?P<shift>\s+(?:{shifts})\b)?(?P<with>\s+{with_part})?(?P<shift2>\s+(?:{shifts})\b)?",
        re.IGNORECASE,
    )
    return (
        frozenset(rules["determiners"]),
        frozenset(rules["roles"]),
        frozenset(rules["appearance"]),
        frozenset(rules["features"]),
        after,
        int(rules["max_modifiers"]),
        int(rules["max_who_words"]),
    )


_WHO = re.compile(r"\s+who\s+", re.IGNORECASE)
_CLAUSE_PIECE = re.compile(r"[,.;:!?()\n]|[^,.;:!?()\n\s]+")
_CLAUSE_END = frozenset(",.;:!?()\n")


def _who_clause_end(text: str, pos: int, max_words: int) -> int | None:
    r"""Where a "who ..." clause starting at ``pos`` ends (before the spaces ahead of the next
    comma, full stop, bracket or line break, or the end of the text), when it has at most
    ``max_words`` words after "who"; otherwise None.

    The same as matching ``\s+who\s+([^,.;:!?()\n]*?)(?=\s*[,.;:!?()\n]|\s*$)`` and counting
    the words of the group, but it stops reading after ``max_words + 1`` words: the regular
    expression read every clause to its end, once for each role before it, and tried the
    lookahead at each character (quadratic in a long clause or a long run of spaces)."""
    who = _WHO.match(text, pos)
    if who is None:
        return None
    end = who.end()
    for count, piece in enumerate(_CLAUSE_PIECE.finditer(text, who.end()), start=1):
        if piece.group(0) in _CLAUSE_END:
            break
        if count > max_words:
            return None
        end = piece.end()
    return end


def find_staff_descriptors(ctx: Context) -> list[Span]:
    text = ctx.text
    tokens = tokenize(text)
    determiners, roles, appearance, _features, after, max_mods, max_who = _descriptor_rules()
    spans = []
    staff = _("a member of staff")
    for j in range(len(tokens)):
        n = _phrase_at(tokens, j, roles, max_words=2)
        if not n:
            continue
        role_end = tokens[j + n - 1].end
        # Walk back over the modifiers to a determiner.
        start_index = None
        modifiers: list[str] = []
        for k in range(j - 1, max(-1, j - 2 - max_mods), -1):
            if not _adjacent(text, tokens[k], tokens[k + 1]):
                break
            if tokens[k].lower in determiners:
                start_index = k
                break
            modifiers.append(tokens[k].lower)
        if start_index is None:
            continue
        if tokens[j].lower == "one" and tokens[start_index].lower == "one":
            continue
        pre_feature = any(m in appearance for m in modifiers) or any(
            " ".join(pair) in appearance for pair in zip(modifiers[1:], modifiers, strict=False)
        )
        match = after.match(text, role_end)
        end = role_end
        with_feature = False
        if match:
            if match.group("with"):
                with_feature = True
            if match.group(0).strip():
                end = match.end()
        if not (pre_feature or with_feature):
            continue
        clause_end = _who_clause_end(text, end, max_who)
        if clause_end is not None:
            end = clause_end
        spans.append(
            Span(
                tokens[start_index].start,
                end,
                "STAFF_DESCRIPTOR",
                "staff-descriptor",
                staff,
            )
        )
    return spans


# --- Gendered relations ------------------------------------------------------------------


@cache
def _relation_pattern() -> re.Pattern[str]:
    words = sorted(json_rules("gendered_relations")["words"], key=len, reverse=True)
    alternatives = "|".join(re.escape(w) for w in words)
    suffix = r"(s|'s|\u2019s|s'|s\u2019)?"
    return re.compile(rf"(?<![\w-])({alternatives}){suffix}(?![\w-])", re.IGNORECASE)


_NEEDS_POSSESSIVE = {"bf", "gf", "sis", "bro", "nanny", "sister", "missus"}


def _match_case(word: str, replacement: str) -> str:
    if word.isupper() and len(word) > 1:
        return replacement.upper()
    if word[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def find_gendered_relations(ctx: Context) -> list[Span]:
    text = ctx.text
    rules = json_rules("gendered_relations")
    replacements: dict[str, str] = rules["words"]
    possessives = set(rules["possessives"]) - {"the", "me"}
    generic = set(rules["generic_before"])
    not_followed = sorted(rules["not_followed_by"], key=len, reverse=True)
    title_before = set(rules["title_before"])
    address_forms = rules["address_forms"]
    spans = []
    for match in _relation_pattern().finditer(text):
        word = match.group(1)
        low = word.lower()
        suffix = (match.group(2) or "").lower()
        before_words = re.findall(
            r"[A-Za-z'\u2019&-]+", text[max(0, match.start() - 40) : match.start()]
        )
        prev = before_words[-1].lower() if before_words else ""
        prev2 = before_words[-2].lower() if len(before_words) > 1 else ""
        after = text[match.end(1) : match.end(1) + 20].lower()
        if any(after.startswith((p, " " + p)) for p in not_followed):
            continue
        if suffix == "s" and prev not in possessives:
            continue  # "mums and dads": generic plural
        if prev in generic and prev2 not in possessives:
            continue  # "every new mum"
        quoted = text[max(0, match.start() - 1) : match.start()] in ('"', "\u201c", "'", "\u2018")
        lead = text[max(0, match.start() - 16) : match.start()].lower()
        if quoted or any(lead.rstrip(" \"\u201c'\u2018").endswith(f) for f in address_forms):
            continue  # midwives calling the author "mum"
        if low in ("sister", "father", "mother", "brother"):
            following = text[match.end() : match.end() + 30]
            named = re.match(r"\s+[A-Z][a-z'\u2019]+", following) is not None
            if word[:1].isupper() and named and not match.group(2) and prev not in possessives:
                continue  # "Sister Bernadette", "Father O'Brien": titles
            if low == "sister" and (prev in title_before or prev in ("ward", "night")):
                continue
        owned = prev in possessives or prev == "and" or re.search(r"['\u2019]s$", prev) is not None
        if low in _NEEDS_POSSESSIVE and not owned:
            continue  # "BF" (breastfeeding), "the sister on duty"
        if low == "nan" and word == "NaN":
            continue
        spans.append(
            Span(
                match.start(1),
                match.end(1),
                "GENDERED_RELATION",
                "gendered-relation",
                _match_case(word, replacements[low]),
                "info",
            )
        )
    return spans
