"""Service search: parsing a query, the two text backends, ranking and distance.

One search box takes a name (partial, any word order), a code, a town, or a postcode
("TS18 1HU", "near TS18 1HU", "TS18"). The public entry point is
carestory.services.selectors.service_search; this module holds the parts it is made of.

Text matching runs in the database, through the backend for ``connection.vendor``:

- PostgreSQL: every query word is a substring of ``search_text`` (LIKE, served by a GIN
  trigram index from pg_trgm); words of one or two letters must start a word. When nothing
  matches every word, ``word_similarity`` ("<%", the same index) finds near misses: typos.
- SQLite: an FTS5 table over ``search_text``, kept in step by triggers; every query word is a
  token prefix ("dens"* finds "densham").

Both return candidates in a rough order; ranking is then done here in Python, the same for
both databases, so the two backends agree on what comes first. See docs/search.md.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Case, Field, FloatField, Q, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length

from carestory.lib.postcodes import Kind, UKPostcode, uk_postcode
from carestory.lib.search_text import fold
from carestory.services.models import Postcode, Service, ServiceQuerySet

# How many text candidates the database hands over for ranking in Python. The database orders
# them by how many query words the name holds, then level and name length, so the best
# matches are inside this window even when thousands of rows match ("surgery").
CANDIDATES = 300
# Words the query may hold that a name need not ("guys and st thomas").
OPTIONAL_WORDS = frozenset({"and", "the", "of"})
MAX_WORDS = 8
# Radii tried in turn around a postcode until enough open services are inside one.
RADII_KM = (2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0)
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LATITUDE = 111.2
# PostgreSQL near misses: pg_trgm word_similarity a query word must reach (its default is 0.6).
SIMILARITY_THRESHOLD = 0.5

_NEAR = re.compile(r"^(?:(?P<words>.*?)\s+)?near\s+(?P<place>.+)$", re.IGNORECASE)


class Match(enum.StrEnum):
    """How a service came to be in the results."""

    CODE = "code"  # the query is its code
    NAME = "name"  # its name holds the query words (perhaps with the town as well)
    ADDRESS = "address"  # the words are in its address, town, postcode or code
    SIMILAR = "similar"  # nearly matches (a typo); PostgreSQL only
    NEARBY = "nearby"  # near the postcode in the query


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class ParsedQuery:
    """A search box query taken apart.

    ``words`` are the folded words a service must match ("and", "the", "of" dropped);
    ``phrase`` is the whole folded text, for "the name begins with it";
    ``place`` is the query's postcode (full, sector or district), if it has one.
    """

    code: str
    words: tuple[str, ...]
    phrase: str
    place: UKPostcode | None = None

    @property
    def postcodes(self) -> tuple[tuple[str, str], ...]:
        """(postcode, Postcode.Kind) to place the query by, most precise first."""
        return tuple((p.display, p.kind) for p in self.place.lookups()) if self.place else ()


def _trailing_postcode(text: str) -> tuple[str, UKPostcode] | None:
    """(the words, the full postcode) of words followed by a full postcode ("surgery TS18
    1HU", "surgery ts181hu"); a district or sector after words stays a word."""
    words = text.split(" ")
    for parts in (2, 1):  # with its space, then without
        if len(words) > parts:
            postcode = uk_postcode(" ".join(words[-parts:]), kinds=(Kind.FULL,))
            if postcode is not None:
                return " ".join(words[:-parts]), postcode
    return None


def query_parse(query: str, *, places: bool = True) -> ParsedQuery:
    """Take a query apart; with ``places=False`` a postcode in it is just more words."""
    text = " ".join(query.split())[:200]
    words_text, place = text, None
    near = _NEAR.match(text)
    if near:
        words_text = near["words"] or ""
        place = uk_postcode(near["place"]) if places else None
        if place is None:  # "near Leeds": not a postcode, so just more words
            words_text = f"{words_text} {near['place']}"
    elif places and (place := uk_postcode(text)) is not None:
        words_text = ""
    elif places and (trailing := _trailing_postcode(text)) is not None:
        words_text, place = trailing

    all_words = fold(words_text).split()[:MAX_WORDS]
    # Only "and", "the", "of" ("&" folds to "and"): nothing worth looking for.
    required = tuple(dict.fromkeys(w for w in all_words if w not in OPTIONAL_WORDS))
    return ParsedQuery(
        code=text.upper().replace(" ", ""),
        words=required,
        phrase=" ".join(all_words),
        place=place,
    )


# Distance ------------------------------------------------------------------------------------


def haversine_km(a: Point, b: Point) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(centre: Point, radius_km: float) -> tuple[float, float, float, float]:
    """(min lat, max lat, min lon, max lon) of a box holding the circle; a prefilter only."""
    dlat = radius_km / KM_PER_DEGREE_LATITUDE
    cos_lat = max(math.cos(math.radians(centre.latitude)), 0.01)
    dlon = min(radius_km / (KM_PER_DEGREE_LATITUDE * cos_lat), 180.0)
    return (
        centre.latitude - dlat,
        centre.latitude + dlat,
        centre.longitude - dlon,
        centre.longitude + dlon,
    )


def place_locate(parsed: ParsedQuery) -> Point | None:
    """Where the query's postcode is: a full postcode, else its sector, else its district.

    A full postcode missing from the Postcode table is also found where a service with exactly
    that postcode has coordinates, before falling back to the sector.
    """
    if parsed.place is None:
        return None
    lookups = parsed.place.lookups()
    rows = {
        (p.code, p.kind): Point(p.latitude, p.longitude)
        for p in Postcode.objects.filter(code__in=[lookup.key for lookup in lookups])
    }
    for lookup in lookups:
        point = rows.get((lookup.key, lookup.kind))
        if point:
            return point
        if lookup.kind == Kind.FULL:
            coords = (
                Service.objects.filter(
                    postcode=lookup.display, latitude__isnull=False, longitude__isnull=False
                )
                .values_list("latitude", "longitude")
                .first()
            )
            if coords and coords[0] is not None and coords[1] is not None:
                return Point(coords[0], coords[1])
    return None


def nearby(qs: ServiceQuerySet, centre: Point, *, limit: int) -> list[tuple[int, float]]:
    """(pk, km) of the nearest services in ``qs``, nearest first.

    A bounding box on the (latitude, longitude) index finds candidates; haversine in Python
    measures them. The box grows until ``limit`` services lie within its circle.
    """
    found: list[tuple[float, int, str, int]] = []
    for radius in RADII_KM:
        lat_lo, lat_hi, lon_lo, lon_hi = bounding_box(centre, radius)
        rows = qs.filter(
            latitude__range=(lat_lo, lat_hi), longitude__range=(lon_lo, lon_hi)
        ).values_list("pk", "latitude", "longitude", "depth", "name")
        found = []
        for pk, lat, lon, depth, name in rows:
            if lat is None or lon is None:  # cannot be, inside the box; for the type checker
                continue
            km = haversine_km(centre, Point(lat, lon))
            if km <= radius:
                found.append((km, depth, name, pk))
        if len(found) >= limit:
            break
    found.sort()
    return [(pk, km) for km, _, _, pk in found[:limit]]


# Text backends -------------------------------------------------------------------------------


class TextBackend(Protocol):
    def text_filter(self, qs: ServiceQuerySet, words: Sequence[str]) -> ServiceQuerySet:
        """Services whose search_text matches every word."""

    def similar(self, qs: ServiceQuerySet, words: Sequence[str], *, limit: int) -> list[int]:
        """Primary keys of services that nearly match every word, best first."""


def _trgm(template: str, word: str, output_field: Field[Any, Any]) -> RawSQL:
    """A pg_trgm operator or function applied to one query word (always a parameter)."""
    sql = template.format(
        text='"services_service"."search_text"', name='lower("services_service"."name")'
    )
    return RawSQL(sql, (word,), output_field=output_field)  # noqa: S611 (constant SQL, word is a parameter)


class PostgresTrigramBackend:
    def text_filter(self, qs: ServiceQuerySet, words: Sequence[str]) -> ServiceQuerySet:
        condition = Q()
        for word in words:
            if len(word) >= 3:  # a trigram to look up: the GIN index serves LIKE '%word%'
                condition &= Q(search_text__contains=word)
            else:  # "st", "1": too short for a trigram, and too loose as a substring
                condition &= Q(search_text__startswith=word) | Q(search_text__contains=f" {word}")
        return qs.filter(condition)

    def similar(self, qs: ServiceQuerySet, words: Sequence[str], *, limit: int) -> list[int]:
        # Each word of three letters or more must be "<%" search_text: word_similarity(word,
        # search_text) of at least SIMILARITY_THRESHOLD, which a word spelt right scores 1.0,
        # "densam" for "densham" 0.57 and "cok" for "cook" 0.5; the GIN trigram index serves
        # it. Other words must match as usual. Best total similarity first.
        # Codes, postcodes and numbers ("a81043", "ts18", "12") have no near misses.
        long_words = [w for w in words if len(w) >= 3 and w.isalpha()]
        if not long_words:
            return []
        condition = Q()
        for word in long_words:
            condition &= Q(_trgm("%s <%% {text}", word, BooleanField()))
        # Similar in the name counts twice: in the name and again in search_text.
        scores = [
            _trgm(f"word_similarity(%s, {column})", word, FloatField())
            for word in long_words
            for column in ("{text}", "{name}")
        ]
        found = (
            self.text_filter(qs, [w for w in words if w not in long_words])
            .filter(condition)
            .annotate(score=sum(scores[1:], start=scores[0]))
            .order_by("-score", "depth", "name")
            .values_list("pk", flat=True)[:limit]
        )
        with transaction.atomic(using=found.db), connections[found.db].cursor() as cursor:
            # The operator's threshold is a setting; true: for this transaction only.
            cursor.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                [str(SIMILARITY_THRESHOLD)],
            )
            return list(found)


class SqliteFtsBackend:
    def text_filter(self, qs: ServiceQuerySet, words: Sequence[str]) -> ServiceQuerySet:
        # Folded words are [a-z0-9]+, so quoting each is all the escaping FTS5 needs.
        expression = " ".join(f'"{word}"*' for word in words)
        return qs.filter(
            pk__in=RawSQL(
                "SELECT rowid FROM services_service_fts WHERE services_service_fts MATCH %s",
                (expression,),
            )
        )

    def similar(self, qs: ServiceQuerySet, words: Sequence[str], *, limit: int) -> list[int]:
        return []  # FTS5 has no typo tolerance; see docs/search.md


def backend_for(connection: BaseDatabaseWrapper) -> TextBackend:
    if connection.vendor == "postgresql":
        return PostgresTrigramBackend()
    if connection.vendor == "sqlite":
        return SqliteFtsBackend()
    raise NotImplementedError(f"no service search backend for {connection.vendor}")


# Ranking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    pk: int
    name: str
    depth: int
    is_open: bool


def name_tier(name: str, parsed: ParsedQuery) -> int:
    """How well a name matches, best 1 to worst 7 (0 is kept for an exact code).

    1 the name begins with the query, ending on a whole word ("leeds", "james cook")
    2 the name holds every query word as a whole word ("thomas guys")
    3 the name begins with the query, the last word unfinished ("james co")
    4 every query word begins a word of the name ("guy thom")
    5 every query word is somewhere inside the name (PostgreSQL substring matches)
    6 some words are in the name, the rest elsewhere (the town: "densham stockton")
    7 none of them are in the name (address, town, postcode, code)
    """
    folded = fold(name)
    name_words = folded.split()
    if name_words[:1] == ["the"] and len(name_words) > 1:
        name_words = name_words[1:]
    bare = " ".join(name_words)
    phrase = parsed.phrase
    if phrase and (bare == phrase or bare.startswith(phrase + " ")):
        return 1
    whole = set(name_words)
    if all(w in whole for w in parsed.words):
        return 2
    if phrase and bare.startswith(phrase):
        return 3
    if all(any(n.startswith(w) for n in name_words) for w in parsed.words):
        return 4

    def inside(word: str) -> bool:  # as the backends match: short words begin a word
        return word in folded if len(word) >= 3 else any(n.startswith(word) for n in name_words)

    if all(inside(w) for w in parsed.words):
        return 5
    if any(inside(w) for w in parsed.words):
        return 6
    return 7


def rank_key(candidate: Candidate, tier: int) -> tuple[Any, ...]:
    """Better tier, then open before closed, higher level, shorter name, then by name."""
    return (tier, not candidate.is_open, candidate.depth, len(candidate.name), candidate.name)


def text_candidates(
    qs: ServiceQuerySet, parsed: ParsedQuery, backend: TextBackend
) -> list[Candidate]:
    """Up to CANDIDATES matching services, the likeliest first, as light rows."""
    name_hits = sum(
        (Case(When(name__icontains=w, then=Value(1)), default=Value(0)) for w in parsed.words),
        start=Value(0),
    )
    rows = (
        backend.text_filter(qs, parsed.words)
        .annotate(name_hits=name_hits, name_length=Length("name"))
        .order_by("-name_hits", "depth", "name_length", "name")
        .values_list("pk", "name", "depth", "is_open")[:CANDIDATES]
    )
    return [Candidate(*row) for row in rows]


def text_ranked(candidates: Iterable[Candidate], parsed: ParsedQuery) -> list[tuple[int, int]]:
    """(pk, tier) best first."""
    scored = [(rank_key(c, name_tier(c.name, parsed)), c.pk) for c in candidates]
    scored.sort()
    return [(pk, key[0]) for key, pk in scored]


def tier_match(tier: int) -> Match:
    return Match.NAME if tier <= 6 else Match.ADDRESS


# Keeping the indexes in place ----------------------------------------------------------------

# The same statements as migration 0004_search_indexes; search_index_ensure() runs after every
# migrate (see apps.py) and puts back what a later table rebuild dropped.
_LAT_LON_INDEX = "services_service_lat_lon"
_TRGM_INDEX = "services_service_search_trgm"
_FTS_TABLE = "services_service_fts"
_FTS_TRIGGERS = {
    "services_service_fts_ai": (
        "CREATE TRIGGER IF NOT EXISTS services_service_fts_ai AFTER INSERT ON services_service "
        "BEGIN INSERT INTO services_service_fts(rowid, search_text) "
        "VALUES (new.id, new.search_text); END"
    ),
    "services_service_fts_ad": (
        "CREATE TRIGGER IF NOT EXISTS services_service_fts_ad AFTER DELETE ON services_service "
        "BEGIN INSERT INTO services_service_fts(services_service_fts, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    ),
    "services_service_fts_au": (
        "CREATE TRIGGER IF NOT EXISTS services_service_fts_au "
        "AFTER UPDATE OF search_text ON services_service "
        "BEGIN INSERT INTO services_service_fts(services_service_fts, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO services_service_fts(rowid, search_text) "
        "VALUES (new.id, new.search_text); END"
    ),
}
_FTS_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS services_service_fts USING fts5("
    "search_text, content='services_service', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
)


def search_index_missing(using: str = "default") -> list[str]:
    """Names of the search indexes, tables and triggers this database should have but lacks."""
    connection = connections[using]
    if "services_service" not in connection.introspection.table_names():
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            wanted = [_LAT_LON_INDEX, _FTS_TABLE, *_FTS_TRIGGERS]
            cursor.execute(
                "SELECT name FROM sqlite_master "
                "WHERE tbl_name IN ('services_service', 'services_service_fts')"
            )
        elif connection.vendor == "postgresql":
            wanted = [_LAT_LON_INDEX, _TRGM_INDEX]
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'services_service' "
                "AND indexname = ANY(%s)",
                [wanted],
            )
        else:
            return []
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in wanted if name not in present]


def search_index_ensure(using: str = "default", **kwargs: Any) -> list[str]:
    """Create whatever search index is missing; returns what it had to create.

    Safe to run at any time (it is a post_migrate receiver). On SQLite, if any trigger was
    missing the FTS index is rebuilt from the table, since changes went unrecorded.
    """
    missing = search_index_missing(using)
    if not missing:
        return []
    connection = connections[using]
    with connection.cursor() as cursor:
        if _LAT_LON_INDEX in missing:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {_LAT_LON_INDEX} "
                "ON services_service (latitude, longitude)"
            )
        if connection.vendor == "sqlite":
            cursor.execute(_FTS_CREATE)
            for name, sql in _FTS_TRIGGERS.items():
                if name in missing:
                    cursor.execute(sql)
            if _FTS_TABLE in missing or any(name in missing for name in _FTS_TRIGGERS):
                cursor.execute(
                    "INSERT INTO services_service_fts(services_service_fts) VALUES ('rebuild')"
                )
        elif connection.vendor == "postgresql" and _TRGM_INDEX in missing:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {_TRGM_INDEX} "
                "ON services_service USING gin (search_text gin_trgm_ops)"
            )
    return missing
