"""An amended entry that invalidates an agency's answer makes the referral await an answer again; an entry
withdrawing the agency's part leaves it nothing to answer."""

from __future__ import annotations

import pytest

from services.notifier.domain.escalation_rules import awaits_answer_again, withdrawn_from_agency


def payload(**data: object) -> dict[str, object]:
    return {"type": "handover.pack.amended", "data": {"message": "amended", **data}}


@pytest.mark.hazard("H40")
def test_an_entry_that_invalidates_an_answer_awaits_it_again() -> None:
    invalidated = [{"item": "reporting_instructions_confirmation", "reason": "confirmation invalidated"}]
    assert awaits_answer_again(payload(invalidated=invalidated))
    assert not awaits_answer_again(payload(invalidated=[]))
    assert not awaits_answer_again(payload())
    assert not awaits_answer_again({"type": "handover.pack.amended"})


@pytest.mark.hazard("H42")
def test_an_entry_withdrawing_the_agencys_part_is_not_awaited() -> None:
    assert withdrawn_from_agency(payload(message="withdrawn"))
    assert not withdrawn_from_agency(payload())
