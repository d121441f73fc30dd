"""Amendments tell each recipient what changed in its sections; each message carries only its sections;
the notifier sends each distribution entry as it is."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.envelope import EventType, new_event
from contracts.handover import AgencyKind, HandoverPackIssuedV1, ReferralKind
from services.handover.domain.changes import pack_changes
from services.handover.domain.distribution import Recipient, distribution_list, entry
from services.handover.domain.pack import build_pack
from services.handover.domain.referral_routing import route
from services.notifier.domain.webhooks import WEBHOOK_EVENT_TYPES, distribution, webhook_payload
from tests.unit.handover.factories import DIRECTORY, notice

PDU = Recipient(
    "PDU-DUR",
    AgencyKind.PROBATION_DELIVERY_UNIT,
    "PDU",
    ReferralKind.REPORTING_INSTRUCTIONS,
    "covers DH1",
    "r-1",
)
GP = Recipient("A99001", AgencyKind.GP_PRACTICE, "GP", ReferralKind.GP_REGISTRATION, "covers DH1", "r-2")


def packs():  # type: ignore[no-untyped-def]
    person = notice(full=True)
    moved = person.model_copy(update={"release": person.release.model_copy(update={"date": date(2026, 12, 12)})})
    return build_pack(person, route(person, DIRECTORY)), build_pack(moved, route(moved, DIRECTORY))


@pytest.mark.hazard("H21")
def test_a_date_change_is_a_change_of_the_release_date() -> None:
    before, after = packs()
    changes = pack_changes(before, after)
    assert changes[0].section == "release.date" and changes[0].after == "2026-12-12"
    assert pack_changes(before, before) == []


@pytest.mark.hazard("H02", "H21")
def test_each_recipient_is_told_only_of_changes_to_its_sections() -> None:
    before, _ = packs()
    changed = before.model_copy(update={"medications": before.medications[:1]})
    changes = pack_changes(before, changed)
    assert [c.section for c in changes] == ["medications"]
    assert entry("amended", handover_id="h", version=2, recipient=GP, pack=changed, changes=changes).changes
    assert entry("amended", handover_id="h", version=2, recipient=PDU, pack=changed, changes=changes).changes == []


@pytest.mark.hazard("H22")
def test_a_withdrawal_carries_only_what_identifies_the_case() -> None:
    before, _ = packs()
    sent = entry("withdrawn", handover_id="h", version=1, recipient=GP, pack=before, note="release cancelled")
    assert set(sent.pack.model_dump(exclude_none=True)) == {"patient_demographics", "release"}


def test_the_distribution_list_records_why_and_what() -> None:
    before, _ = packs()
    listed = distribution_list([GP, PDU], before)
    assert [item.reason for item in listed] == ["covers DH1", "covers DH1"]
    assert "medications" in listed[0].sections and "medications" not in listed[1].sections


def test_the_notifier_sends_each_entry_as_the_webhook_data() -> None:
    before, _ = packs()
    entries = [entry("issued", handover_id="h", version=1, recipient=r, pack=before) for r in (GP, PDU)]
    issued = HandoverPackIssuedV1(
        handover_id="h",
        version=1,
        notice_id="n",
        issued_at=datetime.now(UTC),
        pack=before,
        distribution=entries,
    )
    event = new_event(
        type=EventType.HANDOVER_PACK_ISSUED,
        source="urn:test",
        subject="A1234BC",
        dataschema="urn:ttg:schema:handover-pack-issued:1.0",
        data=issued,
        correlation_id=None,
    )
    planned = distribution(event)
    assert [e["agency_code"] for e in planned] == ["A99001", "PDU-DUR"]
    body = webhook_payload(event_type=WEBHOOK_EVENT_TYPES[event.type], entry=planned[1], at=datetime.now(UTC))
    assert body["type"] == "handover.pack.issued" and body["data"] == planned[1]
    assert "medications" not in body["data"]["pack"]


def test_a_distribution_naming_an_agency_twice_is_refused() -> None:
    event = new_event(
        type=EventType.HANDOVER_PACK_WITHDRAWN,
        source="urn:test",
        subject="A1234BC",
        dataschema="urn:x:1.0",
        data=HandoverPackIssuedV1.model_construct(),
        correlation_id=None,
    )
    event.data["distribution"] = [{"agency_code": "X"}, {"agency_code": "X"}]
    with pytest.raises(ValueError, match="twice"):
        distribution(event)
