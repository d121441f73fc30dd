"""Reading a handover on behalf of a caller: which part of the pack it may see, and the record of the read.

Prison healthcare of the pack's establishment reads it whole; an agency or probation the handover was
referred to reads the sections of its kind (:mod:`domain.disclosure`); anyone else learns nothing, not even
that it exists. Every read, and every refused read, is in the audit trail with the sections disclosed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.auth import Principal, acts_for_establishment, is_addressee
from services.handover.domain.disclosure import addressees, disclose
from services.handover.usecases.audit_entries import audit_entry
from services.handover.usecases.ports import HandoverUnitOfWork
from services.handover.usecases.queries import HandoverView


@dataclass(frozen=True)
class Disclosed:
    view: HandoverView
    pack: dict[str, Any]
    whole: bool = False
    reader: str | None = None

    @property
    def sections(self) -> list[str]:
        return sorted(self.pack)


def disclosure(caller: Principal, view: HandoverView) -> Disclosed | None:
    """The whole pack for the prison that holds the person; an addressed agency's sections; else nothing."""
    if acts_for_establishment(caller, view.pack.release.establishment_code):
        return Disclosed(view, view.pack.model_dump(mode="json", exclude_none=True), whole=True)
    addressed = addressees([(r.agency_code, r.agency_kind, r.status) for r in view.referrals])
    if is_addressee(caller, set(addressed)):
        return Disclosed(view, disclose(view.pack, addressed[caller.organisation]), reader=caller.organisation)
    return None


async def read_as(
    *,
    uow: HandoverUnitOfWork,
    caller: Principal,
    views: list[HandoverView],
    single: bool,
    correlation_id: str | None,
    form: str = "json",
) -> list[Disclosed]:
    """What ``caller`` may see of ``views``, each read (or refusal, for a single read) audited with the form
    it was read in (``json``, ``fhir``)."""
    shown: list[Disclosed] = []
    async with uow:
        for view in views:
            seen = disclosure(caller, view)
            if seen is None and not single:
                continue  # a list shows only what the caller may see; its absence is not a refused read
            await uow.audit.record(
                audit_entry(
                    caller,
                    action="handover.read" if seen is not None else "handover.read_denied",
                    resource_type="handover",
                    resource_id=view.handover_id,
                    subject=view.pack.patient_demographics.prison_number,
                    outcome="ok" if seen is not None else "denied",
                    correlation_id=correlation_id,
                    details=(
                        {"version": view.version, "sections": seen.sections, "format": form}
                        if seen is not None
                        else {"format": form}
                    ),
                )
            )
            if seen is not None:
                shown.append(seen)
    return shown
