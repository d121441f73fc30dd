"""FHIR in webhook entries, on the fake unit of work: only agencies that chose FHIR get a Bundle."""

from __future__ import annotations

from contracts.envelope import EventType
from tests.unit.handover.factories import DIRECTORY, agency, notice
from tests.unit.handover.fakes import FakeHandoverUnitOfWork, opened

FHIR_GP = agency(
    "A99001",
    "gp_practice",
    ["DH1", "DH2"],
    ["County Durham"],
    webhook={"url": "https://gp.example/hooks", "secret_ref": "env:GP", "format": "fhir"},
)


async def test_an_agency_that_chose_fhir_gets_a_bundle_next_to_its_sections_and_the_others_do_not() -> None:
    uow = FakeHandoverUnitOfWork([FHIR_GP, *[a for a in DIRECTORY if a.code != "A99001"]])
    await opened(uow, notice(establishment="DMI"))

    [issued] = uow.events(EventType.HANDOVER_PACK_ISSUED)
    by_agency = {entry["agency_code"]: entry for entry in issued["distribution"]}
    assert by_agency["A99001"]["fhir"]["resourceType"] == "Bundle"
    assert all("fhir" not in entry for code, entry in by_agency.items() if code != "A99001")
