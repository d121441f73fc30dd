"""The operator's directory search: every word must match the code, the name or an area; kind narrows."""

from __future__ import annotations

from services.console.domain.directory_filter import matching

AGENCIES = [
    {"code": "GP-DUR1", "name": "Elvet Surgery", "kind": "gp_practice", "coverage": {"postcode_districts": ["DH1"]}},
    {
        "code": "CMHT-DUR",
        "name": "Durham Community Mental Health Team",
        "kind": "community_mental_health_team",
        "coverage": {"postcode_districts": ["DH1", "DH2"], "local_authorities": ["County Durham"]},
    },
    {"code": "PDU-TEE", "name": "Teesside Probation", "kind": "probation_delivery_unit", "coverage": {}},
]


def codes(words: str, kind: str = "") -> list[str]:
    return [agency["code"] for agency in matching(AGENCIES, words, kind)]


def test_nothing_typed_lists_every_agency() -> None:
    assert codes("") == ["GP-DUR1", "CMHT-DUR", "PDU-TEE"]


def test_a_code_name_or_area_finds_the_agency_whatever_the_case() -> None:
    assert codes("cmht-dur") == ["CMHT-DUR"]
    assert codes("elvet") == ["GP-DUR1"]
    assert codes("dh2") == ["CMHT-DUR"]
    assert codes("county durham") == ["CMHT-DUR"]


def test_every_word_must_match_and_kind_narrows() -> None:
    assert codes("DH1 surgery") == ["GP-DUR1"]
    assert codes("DH1", kind="community_mental_health_team") == ["CMHT-DUR"]
    assert codes("nowhere") == []
