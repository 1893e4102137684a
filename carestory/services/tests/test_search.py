"""Service search on the shipped demo slice: names, codes, postcodes, ranking, both backends.

The same tests run on SQLite (FTS5) and PostgreSQL (pg_trgm): set DATABASE_URL for the second.
"""

from __future__ import annotations

import csv
import re

import pytest
from django.db import connection
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from carestory.services import search
from carestory.services.demo import DEMO_SERVICES_CSV, demo_tree_load
from carestory.services.models import Postcode, Service
from carestory.services.search import Match, Point
from carestory.services.selectors import ServiceHit, service_search, service_search_services
from carestory.services.services import search_text_for, service_create

pytestmark = pytest.mark.django_db

FIND = "/services/"
SUGGEST = "/services/suggest"
TELL = "/tell-your-story/"


def _coords() -> dict[str, tuple[float, float]]:
    """Postcode -> (latitude, longitude), from the demo slice itself."""
    with DEMO_SERVICES_CSV.open(newline="", encoding="utf-8") as fh:
        return {
            row["postcode"]: (float(row["latitude"]), float(row["longitude"]))
            for row in csv.DictReader(fh)
            if row["latitude"]
        }


@pytest.fixture
def demo() -> None:
    demo_tree_load()
    coords = _coords()
    # Postcode rows stored as the importer stores them (carestory/services/importers/
    # postcodes.py): full postcodes compact, sectors with their space, districts.
    for postcode in ("TS18 1HU", "TS18 2AW", "LS1 3EX", "SE1 7EH"):
        lat, lon = coords[postcode]
        Postcode.objects.create(
            code=postcode.replace(" ", ""), kind=Postcode.Kind.FULL, latitude=lat, longitude=lon
        )
    Postcode.objects.create(
        code="TS18 1", kind=Postcode.Kind.SECTOR, latitude=54.5640, longitude=-1.3170
    )
    Postcode.objects.create(
        code="TS18", kind=Postcode.Kind.DISTRICT, latitude=54.5590, longitude=-1.3260
    )


def codes(hits: list[ServiceHit]) -> list[str]:
    return [hit.service.code for hit in hits]


def first(query: str, **kwargs: object) -> str:
    hits = service_search(query=query, **kwargs)  # type: ignore[arg-type]
    assert hits, f"nothing found for {query!r}"
    return hits[0].service.code


# Names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("densham", "A81001"),
        ("Densham Surgery", "A81001"),
        ("densh", "A81001"),  # partial
        ("surgery densham", "A81001"),  # any order
        ("james cook", "RTRAT"),
        ("james co", "RTRAT"),  # the last word unfinished
        ("cook james", "RTRAT"),
        ("thomas guys", "RJ1"),
        ("guys and st thomas", "RJ1"),
        ("Guy's & Saint Thomas'", "RJ1"),
        ("GUY\u2019S AND SAINT THOMAS\u2019", "RJ1"),  # curly apostrophes, capitals
        ("guy thom", "RJ1"),  # word prefixes
        ("st thomas", "RJ122"),  # the hospital itself before the trust that holds the words
        ("saint thomas", "RJ122"),
        ("north tees hartlepool", "RVW"),
        ("queens park", "A81002"),
        ("Queen's Park Medical Centre", "A81002"),
        ("chapel allerton", "RR819"),
    ],
)
def test_names(demo: None, query: str, expected: str) -> None:
    assert first(query) == expected


def test_densham_ranks_the_densham_surgery_first_and_matches_by_name(demo: None) -> None:
    [hit, *_] = service_search(query="densham")
    assert hit.service.name == "The Densham Surgery"
    assert hit.match == Match.NAME
    assert hit.distance_km is None


def test_words_must_all_match(demo: None) -> None:
    assert "RJ121" not in codes(service_search(query="guys thomas"))  # Guy's Hospital: no Thomas
    assert service_search(query="densham hartlepool") == []


def test_town_finds_services_there_with_names_before_addresses(demo: None) -> None:
    found = codes(service_search(query="leeds"))
    # The trust and the hospitals named after the town come first, the trust (higher) first;
    # then services that are in Leeds only by address.
    assert found[0] == "RR8"
    assert set(found[1:3]) == {"RR801", "RR802"}
    assert found.index("RR802") < found.index("RR813") < found.index("RR8-ED")
    assert {"RR813", "RR814", "RR819", "RR8-MAT"} <= set(found)
    assert "RR807" not in found  # Wharfedale Hospital is in Otley


def test_town_in_the_address(demo: None) -> None:
    found = codes(service_search(query="Stockton on Tees", kind="gp_practice"))
    assert set(found) == {"A81001", "A81002", "A81006", "A81017", "A81025"}
    hits = service_search(query="Stockton-on-Tees")
    # The GP practices are in Stockton by address; the University Hospital of North Tees
    # has one of the words in its name, so it comes first.
    assert hits[0].service.code == "RVWAE"
    assert hits[0].match == Match.NAME
    assert {hit.match for hit in hits if hit.service.kind == "gp_practice"} == {Match.ADDRESS}


def test_name_and_town_together(demo: None) -> None:
    # Both surgeries at the Stockton health centre; not the Middlesbrough ones.
    assert set(codes(service_search(query="surgery stockton"))) == {"A81001", "A81025"}
    assert first("densham stockton") == "A81001"


def test_shorter_names_and_higher_levels_break_ties(demo: None) -> None:
    # Every "maternity services" is a department; trusts come before their hospitals.
    found = codes(service_search(query="north tees"))
    assert found.index("RVW") < found.index("RVWAE")
    found = codes(service_search(query="emergency department"))
    assert set(found) == {"RTR-ED", "RVW-ED", "RR8-ED", "RJ1-ED"}


# Codes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["RTR", "rtr", " RTR "])
def test_exact_code_comes_first(demo: None, query: str) -> None:
    hits = service_search(query=query)
    assert hits[0].service.code == "RTR"
    assert hits[0].match == Match.CODE
    # Codes that begin with it follow, once each.
    found = codes(hits)
    assert len(found) == len(set(found))
    assert {"RTR03", "RTRAT"} <= set(found)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("A81001", "A81001"), ("rvw", "RVW"), ("RR8", "RR8"), ("rj1-ed", "RJ1-ED"), ("16C", "16C")],
)
def test_codes(demo: None, query: str, expected: str) -> None:
    hits = service_search(query=query)
    assert hits[0].service.code == expected
    assert hits[0].match == Match.CODE


def test_code_that_looks_like_a_postcode_district_is_still_a_code(demo: None) -> None:
    # "RR8" is shaped like an outward code; there is no such district, so it is text.
    found = codes(service_search(query="RR8"))
    assert found[0] == "RR8"
    assert {"RR801", "RR813"} <= set(found)


# Postcodes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["near TS18 1HU", "TS18 1HU", "ts181hu", "Near ts18 1hu"])
def test_postcode_gives_the_nearest_open_services_with_distances(demo: None, query: str) -> None:
    hits = service_search(query=query)
    assert {hit.match for hit in hits} == {Match.NEARBY}
    # The Densham Surgery and The Dovecot Surgery share the health centre at TS18 1HU.
    assert set(codes(hits[:2])) == {"A81001", "A81025"}
    assert hits[0].distance_km == pytest.approx(0, abs=0.01)
    distances = [hit.distance_km for hit in hits]
    assert all(d is not None for d in distances)
    assert distances == sorted(distances)  # type: ignore[type-var]
    # Queens Park Medical Centre, TS18 2AW: about 0.9 km away.
    queens_park = next(hit for hit in hits if hit.service.code == "A81002")
    assert queens_park.distance_km == pytest.approx(0.89, abs=0.05)
    assert all(hit.service.is_open for hit in hits)


def test_postcode_never_offers_closed_services(demo: None) -> None:
    # The Manor House Surgery (closed) is 10 km away; with limit 100 everything near is in.
    found = codes(service_search(query="near TS18 1HU", limit=100))
    assert "A81043" not in found
    assert "A81004" in found


def test_postcode_with_a_type(demo: None) -> None:
    hits = service_search(query="near TS18 1HU", kind="hospital", limit=3)
    assert codes(hits) == ["RVWAE", "RTRAT", "RVWAA"]  # North Tees, James Cook, Hartlepool
    assert all(hit.service.kind == "hospital" for hit in hits)


def test_words_near_a_postcode(demo: None) -> None:
    hits = service_search(query="medical centre near TS18 1HU")
    found = codes(hits)
    assert found[0] == "A81002"  # Queens Park Medical Centre, 0.9 km
    assert "A81001" not in found  # The Densham Surgery is closer but not a medical centre
    assert all("medical" in hit.service.search_text for hit in hits)
    distances = [hit.distance_km or 0.0 for hit in hits]
    assert distances == sorted(distances)
    assert first("surgery TS18 1HU") in {"A81001", "A81025"}


def test_outward_code_uses_the_district(demo: None) -> None:
    hits = service_search(query="TS18")
    assert {hit.match for hit in hits} == {Match.NEARBY}
    assert _measured_from(hits, Point(54.5590, -1.3260))
    assert codes(hits)[:2] in (["A81001", "A81025"], ["A81025", "A81001"])


def test_sector_and_district_with_the_same_letters_are_not_confused(demo: None) -> None:
    # Sector "TS1 8" would be "TS18" without its space; far away here, so a mix-up shows.
    Postcode.objects.create(code="TS1 8", kind=Postcode.Kind.SECTOR, latitude=51.5, longitude=0)
    hits = service_search(query="TS18")
    assert set(codes(hits[:2])) == {"A81001", "A81025"}
    assert hits[0].distance_km is not None and hits[0].distance_km < 1


def _measured_from(hits: list[ServiceHit], centre: Point) -> bool:
    """Every distance is from ``centre``."""
    for hit in hits:
        s = hit.service
        assert s.latitude is not None and s.longitude is not None
        expected = search.haversine_km(centre, Point(s.latitude, s.longitude))
        if hit.distance_km != pytest.approx(expected):
            return False
    return bool(hits)


def test_unknown_full_postcode_falls_back_to_its_sector_then_district(demo: None) -> None:
    sector_centre, district_centre = Point(54.5640, -1.3170), Point(54.5590, -1.3260)
    by_sector = service_search(query="TS18 1ZZ")  # no such postcode; sector TS18 1 exists
    assert _measured_from(by_sector, sector_centre)
    assert not _measured_from(by_sector, district_centre)
    by_district = service_search(query="near TS18 9ZZ")  # no sector TS18 9 either
    assert _measured_from(by_district, district_centre)


def test_postcode_missing_from_the_table_is_placed_by_a_service_there(demo: None) -> None:
    Postcode.objects.all().delete()
    hits = service_search(query="near SE1 9RT")  # Guy's Hospital's postcode
    assert hits[0].distance_km == pytest.approx(0, abs=0.01)
    assert set(codes(hits[:2])) == {"RJ121", "RJ1-OPD"}
    assert "RJ1" in codes(hits)  # 2.4 km away at St Thomas'


def test_postcode_nobody_can_place_is_searched_as_text(demo: None) -> None:
    Postcode.objects.all().delete()
    Service.objects.filter(postcode="TS4 3BW").update(latitude=None, longitude=None)
    hits = service_search(query="TS4 3BW")
    assert set(codes(hits)) == {"RTR", "RTRAT", "RTR-ED", "RTR-MAT", "RTR-CHW"}
    assert all(hit.distance_km is None for hit in hits)
    assert service_search(query="ZZ9 9ZZ") == []


def test_code_first_even_near_a_postcode(demo: None) -> None:
    assert codes(service_search(query="RTR"))[0] == "RTR"


# Type filter, closed services, limits -------------------------------------------------------


def test_type_filter(demo: None) -> None:
    assert codes(service_search(query="leeds", kind="trust")) == ["RR8"]
    hospitals = service_search(query="leeds", kind="hospital")
    assert hospitals and all(hit.service.kind == "hospital" for hit in hospitals)
    assert "RR8" not in codes(hospitals)
    assert service_search(query="RR8", kind="hospital")[0].service.code != "RR8"


def test_closed_services_are_found_but_marked_and_not_offered_when_open_only(demo: None) -> None:
    [hit] = service_search(query="manor house")
    assert hit.service.code == "A81043"
    assert hit.service.is_open is False
    assert service_search(query="manor house", open_only=True) == []
    assert service_search(query="A81043", open_only=True) == []


def test_closed_comes_after_open_in_the_same_tier(demo: None) -> None:
    service_create(code="X1", name="Manor House Practice", kind="gp_practice")
    found = codes(service_search(query="manor house"))
    assert found == ["X1", "A81043"]


def test_limit(demo: None) -> None:
    assert len(service_search(query="hospital", limit=3)) == 3
    assert len(service_search(query="near TS18 1HU", limit=5)) == 5


@pytest.mark.parametrize("query", ["", "   ", "&", "'", "the and of"])
def test_empty_queries_find_nothing(demo: None, query: str) -> None:
    assert service_search(query=query) == []


def test_compatibility_path_returns_services(demo: None) -> None:
    services = service_search_services(query="densham")
    assert isinstance(services[0], Service)
    assert services[0].code == "A81001"


def test_bounded_number_of_queries(
    demo: None, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_max_num_queries(5):
        hits = service_search(query="medical centre")
        assert [h.service.parent.name for h in hits if h.service.parent]  # no query per parent
    with django_assert_max_num_queries(12):
        service_search(query="near TS18 1HU")


# Typo tolerance (PostgreSQL) ----------------------------------------------------------------


def test_near_misses_and_substrings_on_postgresql(demo: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("typos and substrings use pg_trgm; FTS5 on SQLite matches word prefixes")
    hits = service_search(query="densam surgery")
    assert hits[0].service.code == "A81001"
    assert hits[0].match == Match.SIMILAR
    assert first("guisborugh") == "RTRAQ"
    assert first("leds general") == "RR801"
    # Inside a word: a substring match, below names that begin with the words.
    [hit] = service_search(query="ensham")
    assert hit.service.code == "A81001"
    assert hit.match == Match.NAME
    # Codes and numbers must be right: no near misses for them.
    assert service_search(query="A81099") == []
    assert service_search(query="densham 99") == []


# Keeping the index in step -------------------------------------------------------------------


def test_index_follows_inserts_updates_and_deletes(demo: None) -> None:
    service = service_create(code="ZZ1", name="Riverbank Clinic", kind="site")
    assert codes(service_search(query="riverbank")) == ["ZZ1"]

    service.name = "Meadowside Clinic"
    service.search_text = search_text_for(service)
    service.save()
    assert codes(service_search(query="meadowside")) == ["ZZ1"]
    assert service_search(query="riverbank") == []

    Service.objects.filter(pk=service.pk).delete()
    assert service_search(query="meadowside") == []


def test_search_indexes_are_all_in_place_after_migrating() -> None:
    assert search.search_index_missing() == []
    assert search.search_index_ensure() == []


def test_ensure_puts_back_what_a_table_rebuild_dropped(demo: None) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Django's SQLite schema editor remakes a table to alter it, losing its triggers.
            for trigger in ("services_service_fts_ai", "services_service_fts_au"):
                cursor.execute(f"DROP TRIGGER {trigger}")
        else:
            cursor.execute("DROP INDEX services_service_search_trgm")
        cursor.execute("DROP INDEX services_service_lat_lon")
    assert search.search_index_missing()
    # A change made while the triggers were missing goes unrecorded...
    service_create(code="ZZ2", name="Lantern Clinic", kind="site")

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # as after a migration: no deferred checks pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    search.search_index_ensure()

    assert search.search_index_missing() == []
    # ...and the rebuild picks it up.
    assert codes(service_search(query="lantern")) == ["ZZ2"]
    assert first("densham") == "A81001"


# Parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "words", "postcodes"),
    [
        ("densham", ("densham",), ()),
        ("Guy's & Saint Thomas'", ("guys", "st", "thomas"), ()),
        ("the and", (), ()),
        ("TS18 1HU", (), (("TS18 1HU", "full"), ("TS18 1", "sector"), ("TS18", "district"))),
        ("near ts181hu", (), (("TS18 1HU", "full"), ("TS18 1", "sector"), ("TS18", "district"))),
        ("TS18 1", (), (("TS18 1", "sector"), ("TS18", "district"))),
        ("TS18", (), (("TS18", "district"),)),
        ("surgery near TS18", ("surgery",), (("TS18", "district"),)),
        (
            "surgery TS18 1HU",
            ("surgery",),
            (("TS18 1HU", "full"), ("TS18 1", "sector"), ("TS18", "district")),
        ),
        ("surgery TS18", ("surgery", "ts18"), ()),  # a bare district after words is a word
        (
            "surgery ts181hu",
            ("surgery",),
            (("TS18 1HU", "full"), ("TS18 1", "sector"), ("TS18", "district")),
        ),
        ("surgery TS18 1CI", ("surgery", "ts18", "1ci"), ()),  # no inward code has C or I
        ("near ZZ9 9ZZ", ("zz9", "9zz"), ()),  # no postcode area ZZ
        ("near Leeds", ("leeds",), ()),
        ("A81001", ("a81001",), ()),
    ],
)
def test_query_parse(
    query: str, words: tuple[str, ...], postcodes: tuple[tuple[str, str], ...]
) -> None:
    parsed = search.query_parse(query)
    assert parsed.words == words
    assert parsed.postcodes == postcodes


def test_haversine() -> None:
    # Middlesbrough (James Cook) to Leeds General Infirmary: about 88 km.
    assert search.haversine_km(
        Point(54.55176, -1.21482), Point(53.80146, -1.55174)
    ) == pytest.approx(86.5, abs=1.5)
    box = search.bounding_box(Point(54.5, -1.3), 10)
    assert box[0] < 54.5 < box[1] and box[2] < -1.3 < box[3]


# Pages --------------------------------------------------------------------------------------


def test_find_page_without_javascript(client: Client, demo: None) -> None:
    response = client.get(FIND, {"q": "james cook"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "The James Cook University Hospital" in body
    assert "Hospital" in body  # the type
    assert "Marton Road, Middlesbrough, Cleveland" in body  # the address
    assert "part of South Tees Hospitals NHS Foundation Trust" in body  # the parent
    assert not re.search(r"[0-9] km away", body)  # no distances without a postcode
    results = body.split("result")[1]
    assert results.index("The James Cook University Hospital") < results.index(
        "South Tees Hospitals NHS Foundation Trust</a>"
    )
    # The form works as it is; the suggestions script is an extra, loaded as a module.
    assert 'data-suggest-url="/services/suggest"' in body
    assert '<script type="module" src="/static/js/service-suggest.js"></script>' in body


def test_find_page_by_postcode_shows_distances(client: Client, demo: None) -> None:
    body = client.get(FIND, {"q": "near TS18 1HU"}).content.decode()
    assert "The Densham Surgery" in body
    assert "0.0 km away" in body
    assert "0.9 km away" in body  # Queens Park Medical Centre
    assert "Nearest open services first" in body


def test_find_page_marks_closed_services(client: Client, demo: None) -> None:
    body = client.get(FIND, {"q": "manor house"}).content.decode()
    assert "The Manor House Surgery" in body
    assert "Closed" in body


def test_find_page_type_filter(client: Client, demo: None) -> None:
    body = client.get(FIND, {"q": "leeds", "type": "trust"}).content.decode()
    assert "Leeds Teaching Hospitals NHS Trust</a>" in body
    assert "Leeds General Infirmary</a>" not in body
    assert '<option value="trust" selected>' in body
    # An unknown type is ignored rather than an error.
    body = client.get(FIND, {"q": "leeds", "type": "spaceship"}).content.decode()
    assert "Leeds General Infirmary</a>" in body


def test_find_page_queries_do_not_grow_with_results(
    client: Client, demo: None, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_max_num_queries(8):
        client.get(FIND, {"q": "hospital"})


def test_suggest_returns_a_small_json_list(client: Client, demo: None) -> None:
    response = client.get(SUGGEST, {"q": "james co"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert 1 <= len(data) <= 8
    assert data[0] == {
        "code": "RTRAT",
        "name": "The James Cook University Hospital",
        "type": "hospital",
        "type_label": "Hospital",
        "parent": "South Tees Hospitals NHS Foundation Trust",
        "url": "/services/RTRAT/",
        "is_open": True,
        "distance_km": None,
    }


def test_suggest_is_the_same_search(client: Client, demo: None) -> None:
    for query in ("guys thomas", "RTR", "near TS18 1HU", "leeds"):
        data = client.get(SUGGEST, {"q": query}).json()
        assert [d["code"] for d in data] == codes(service_search(query=query, limit=8))
    near = client.get(SUGGEST, {"q": "TS18 1HU"}).json()
    assert near[0]["distance_km"] == 0.0


def test_suggest_filters(client: Client, demo: None) -> None:
    assert [d["code"] for d in client.get(SUGGEST, {"q": "manor house"}).json()] == ["A81043"]
    assert client.get(SUGGEST, {"q": "manor house", "open": "1"}).json() == []
    data = client.get(SUGGEST, {"q": "leeds", "type": "trust"}).json()
    assert [d["code"] for d in data] == ["RR8"]


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "a"}, {"q": " l "}])
def test_suggest_needs_two_characters(client: Client, demo: None, params: dict[str, str]) -> None:
    response = client.get(SUGGEST, params)
    assert response.status_code == 200
    assert response.json() == []


def test_suggest_caps_long_queries(client: Client, demo: None) -> None:
    response = client.get(SUGGEST, {"q": "densham " + "x" * 500})
    assert response.status_code == 200


def test_chooser_uses_the_same_search_and_never_offers_closed(client: Client, demo: None) -> None:
    body = client.get(TELL, {"q": "thomas guys"}).content.decode()
    assert f"{TELL}?service=RJ1" in body
    body = client.get(TELL, {"q": "manor house"}).content.decode()
    assert "A81043" not in body
    assert "No open services match" in body
    body = client.get(TELL, {"q": "near TS18 1HU"}).content.decode()
    assert "service=A81001" in body
    assert "0.0 km away" in body
    assert "service=A81043" not in body


def test_chooser_suggestions_offer_open_services_and_choose_in_the_form(
    client: Client, demo: None
) -> None:
    body = client.get(TELL, {"service": "RTRAT", "add": "1"}).content.decode()
    assert 'data-suggest-url="/services/suggest?open=1"' in body
    assert "data-suggest-choose" in body
    assert '<input type="hidden" name="service" value="RTRAT">' in body
    assert '<script type="module" src="/static/js/service-suggest.js"></script>' in body
