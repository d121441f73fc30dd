"""Reading a handover on the fake unit of work: the prison reads it whole, an addressed agency its sections,
anyone else nothing; every read and refused read is audited, both sides tested."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.roles import Role
from services.handover.usecases import queries
from services.handover.usecases.reading import Disclosed, read_as
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, FakeHandoverUnitOfWork, opened

RULES = queries.ReadinessRules(at_risk_hours=48, registration_days=3)


def caller(organisation: str, role: Role, establishments: frozenset[str] = frozenset()) -> Principal:
    return Principal(f"{organisation.lower()}-client", organisation, role, frozenset(), establishments)


async def read(uow: FakeHandoverUnitOfWork, who: Principal, *, single: bool = True) -> list[Disclosed]:
    view = await queries.get_handover(uow=uow, handover_id=next(iter(uow.handovers.rows)), now=NOW, rules=RULES)
    assert view is not None
    return await read_as(uow=uow, caller=who, views=[view], single=single, correlation_id="c-4")


async def test_the_holding_prison_reads_the_whole_pack() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    await opened(uow, notice(full=True, establishment="DMI"))

    [seen] = await read(uow, caller("DMI", Role.PRISON_HEALTHCARE, frozenset({"DMI"})))
    assert seen.whole and "medications" in seen.pack
    assert uow.audit.entries[-1].action == "handover.read"


async def test_an_addressed_agency_reads_its_sections_only() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    await opened(uow, notice(full=True, establishment="DMI"))

    [seen] = await read(uow, caller("PDU-DUR", Role.PROBATION))
    assert not seen.whole and seen.reader == "PDU-DUR" and "medications" not in seen.pack
    assert uow.audit.entries[-1].details["sections"] == seen.sections


async def test_anyone_else_reads_nothing_and_the_refusal_is_audited() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    await opened(uow, notice(establishment="DMI"))

    assert await read(uow, caller("HHI", Role.PRISON_HEALTHCARE, frozenset({"HHI"}))) == []
    assert uow.audit.entries[-1].action == "handover.read_denied" and uow.audit.entries[-1].outcome == "denied"
    audited = len(uow.audit.entries)
    assert await read(uow, caller("A99002", Role.AGENCY), single=False) == []
    assert len(uow.audit.entries) == audited, "a list leaves out what the caller may not see, unaudited"
