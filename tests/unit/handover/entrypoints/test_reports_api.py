"""Who reads which outcomes, and the report's parameters, without a running service."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.auth import Principal
from services.common.problems import Problem
from services.common.roles import ROLE_SCOPES, Role
from services.handover.domain.outcomes import Figure, Measure
from services.handover.entrypoints.api.report_routes import _months, as_csv, reader_scope


def caller(role: Role, organisation: str, *establishments: str) -> Principal:
    return Principal(f"{organisation}-key", organisation, role, ROLE_SCOPES[role], frozenset(establishments))


OPERATOR = caller(Role.OPERATOR, "OPS")
DMI = caller(Role.PRISON_HEALTHCARE, "PH-DMI", "DMI")
CMHT = caller(Role.AGENCY, "CMHT-DUR")


def refused(who: Principal, establishment: str | None, agency: str | None) -> str:
    with pytest.raises(Problem) as raised:
        reader_scope(who, establishment, agency)
    assert raised.value.status == 403
    return str(raised.value.extensions.get("errors", [{}])[0].get("field"))


@pytest.mark.hazard("H78")
def test_a_prison_reads_its_own_establishment_only() -> None:
    assert reader_scope(DMI, None, None).establishments == frozenset({"DMI"})
    assert reader_scope(DMI, "DMI", "CMHT-DUR").releases
    assert refused(DMI, "BMI", None) == "establishment"


@pytest.mark.hazard("H78")
def test_an_agency_reads_its_own_referrals_only_and_no_establishment_readiness() -> None:
    mine = reader_scope(CMHT, "DMI", None)
    assert (mine.agency, mine.releases) == ("CMHT-DUR", False)
    assert reader_scope(CMHT, None, "CMHT-DUR").agency == "CMHT-DUR"
    assert refused(CMHT, None, "CMHT-BHM") == "agency"


def test_an_operator_reads_everything_and_a_console_key_alone_nothing() -> None:
    everything = reader_scope(OPERATOR, None, None)
    assert (everything.establishments, everything.agency, everything.releases) == (None, None, True)
    assert reader_scope(OPERATOR, "BMI", "A99003").establishments == frozenset({"BMI"})
    refused(caller(Role.CONSOLE, "CONSOLE"), None, None)


def test_months_default_to_this_month_and_refuse_nonsense() -> None:
    today = date(2026, 12, 2)
    assert _months(None, None, today) == (date(2026, 12, 1), date(2026, 12, 1))
    assert _months("2026-01", "2026-12", today) == (date(2026, 1, 1), date(2026, 12, 1))
    for first, last in [("2026-13", None), ("2026-12", "2026-11"), ("2020-01", "2026-12"), ("Dec", None)]:
        with pytest.raises(Problem) as raised:
            _months(first, last, today)
        assert raised.value.status == 422


def test_csv_has_a_header_and_one_row_per_figure() -> None:
    figures = [Figure("2026-12", "DMI", "", "", Measure.READY_BEFORE_RELEASE, "gp", 2, 3, 0.6667)]
    assert as_csv(figures).splitlines() == [
        "month,establishment,agency_kind,agency,measure,key,count,total,value",
        "2026-12,DMI,,,ready_before_release,gp,2,3,0.6667",
    ]
