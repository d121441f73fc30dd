"""The chaos invariants over made-up observations: a clean run passes; each kind of loss, doubling, disorder
and leak is caught and named by a pseudonymous id; same-id repeats are counted, not failed."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import replace

from tests.support.seeding import seeded_rng
from ttg.chaos.invariants import DeliveryRow, Expected, Observed, Verdict, check, log_leaks, order_violations
from ttg.chaos.receiver import Arrival


def ident(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


def clean_run(rng: random.Random, people: int = 5) -> Observed:
    """Each person: a notice, a pack v1 to two agencies, an amendment v2 to both, one answer by the first."""
    notices: list[str] = []
    by_notice: dict[str, list[str]] = {}
    expected: list[Expected] = []
    deliveries: list[DeliveryRow] = []
    arrivals: list[Arrival] = []
    answers_given: list[tuple[str, str, int]] = []
    stored: Counter[tuple[str, str]] = Counter()
    audited: Counter[str] = Counter()
    for _ in range(people):
        notice, handover = ident(rng), ident(rng)
        notices.append(notice)
        by_notice[notice] = [handover]
        referrals = {agency: ident(rng) for agency in ("GP", "CMHT")}
        for version, message in ((1, "issued"), (2, "amended")):
            event = ident(rng)
            for agency, referral in referrals.items():
                expected.append(Expected(event, handover, version, agency, message, referral))
                webhook = f"msg_{rng.getrandbits(64):x}"
                deliveries.append(DeliveryRow(webhook, event, agency, "delivered"))
                arrivals.append(
                    Arrival(
                        len(arrivals),
                        agency,
                        webhook,
                        f"handover.pack.{message}",
                        handover,
                        version,
                        referral,
                        "gp_registration",
                        message,
                    )
                )
        answers_given.append((referrals["GP"], "accepted", 201))
        stored[(referrals["GP"], "accepted")] = 1
        audited[referrals["GP"]] = 1
    return Observed(
        accepted_notices=notices,
        handovers_by_notice=by_notice,
        expected=expected,
        deliveries=deliveries,
        arrivals=arrivals,
        answers_given=answers_given,
        answers_stored=stored,
        answers_audited=audited,
        custody_events_accepted=["c1", "c2"],
        custody_events_logged=Counter({"c1": 1, "c2": 1}),
        audit_chains={"release_events": "", "handover": "", "notifier": ""},
        dead_letters=[],
        log_leaks={"handover": 0},
    )


def failed(verdict: Verdict) -> set[str]:
    return {invariant for invariant, _ in verdict.violations}


def test_a_clean_run_passes_and_is_counted() -> None:
    seen = clean_run(seeded_rng())
    verdict = check(seen)
    assert verdict.clean, verdict.violations
    assert verdict.counts["accepted"] == 5 and verdict.counts["packs"] == 5 and verdict.counts["deliveries"] == 20
    assert verdict.counts["repeats_same_id"] == 0 and verdict.counts["answers"] == 5


def test_a_repeat_under_the_same_webhook_id_is_counted_not_failed() -> None:
    seen = clean_run(seeded_rng())
    again = replace(seen.arrivals[3], order=len(seen.arrivals))
    seen.arrivals.append(again)
    verdict = check(seen)
    assert verdict.clean and verdict.counts["repeats_same_id"] == 1


def test_a_message_sent_twice_under_two_webhook_ids_fails() -> None:
    seen = clean_run(seeded_rng())
    twin = replace(seen.arrivals[-1], order=len(seen.arrivals), webhook_id="msg_twin")  # v2, after v2
    seen.arrivals.append(twin)
    verdict = check(seen)
    assert failed(verdict) == {"message sent twice under different webhook-ids"}
    assert verdict.counts["sent_twice"] == 1


def test_a_lost_pack_a_lost_delivery_and_a_pending_one_fail_with_their_ids() -> None:
    seen = clean_run(seeded_rng())
    lost_notice = seen.accepted_notices[0]
    del seen.handovers_by_notice[lost_notice]
    seen.arrivals = [a for a in seen.arrivals if a.webhook_id != seen.deliveries[2].webhook_id]
    seen.deliveries[5] = replace(seen.deliveries[5], status="pending")
    verdict = check(seen)
    assert failed(verdict) == {
        "notice without its pack",
        "distribution entry did not reach its agency",
        "delivery not delivered",
    }
    assert ("notice without its pack", lost_notice) in verdict.violations
    assert ("delivery not delivered", seen.deliveries[5].webhook_id) in verdict.violations
    assert verdict.counts["lost"] == 2


def test_an_older_version_after_a_newer_one_at_an_endpoint_breaks_order() -> None:
    seen = clean_run(seeded_rng())
    first_v1, first_v2 = seen.arrivals[0], seen.arrivals[2]  # both to GP: v1 then v2
    seen.arrivals[0], seen.arrivals[2] = replace(first_v2, order=0), replace(first_v1, order=2)
    found = order_violations(seen.arrivals)
    assert found == [f"{first_v1.webhook_id} (v1 after v2 at GP)"]
    assert check(seen).counts["order_violations"] == 1


def test_a_late_repeat_of_an_old_message_is_not_an_order_violation() -> None:
    seen = clean_run(seeded_rng())
    seen.arrivals.append(replace(seen.arrivals[0], order=len(seen.arrivals)))  # v1 again, same id, after v2
    assert order_violations(seen.arrivals) == []


def test_an_answer_stored_twice_lost_or_audited_wrongly_fails() -> None:
    seen = clean_run(seeded_rng())
    twice, lost, unaudited = (r for r, _, _ in seen.answers_given[:3])
    seen.answers_stored[(twice, "accepted")] = 2
    seen.answers_audited[twice] = 2
    seen.answers_stored[(lost, "accepted")] = 0
    seen.answers_audited[lost] = 0
    seen.answers_audited[unaudited] = 0
    verdict = check(seen)
    assert failed(verdict) == {"answer applied twice", "answer lost", "answer audited other than once"}
    assert verdict.counts["answers_applied_twice"] == 1
    assert ("answer audited other than once", f"referral {unaudited}") in verdict.violations


def test_a_refused_answer_must_not_be_stored() -> None:
    seen = clean_run(seeded_rng())
    referral = seen.answers_given[0][0]
    seen.answers_given[0] = (referral, "accepted", 409)
    assert failed(check(seen)) == {"answer stored that no agency gave"}


def test_custody_events_audit_dead_letters_signatures_leaks_and_callers_are_checked() -> None:
    seen = clean_run(seeded_rng())
    seen.custody_events_logged = Counter({"c1": 2})
    seen.audit_chains["handover"] = "record 7 does not chain"
    seen.dead_letters = ["msg_dead"]
    seen.log_leaks = {"notifier": 3}
    seen.unverified_signatures = 1
    seen.workload_problems = ["POST /v1/release-notices: still HTTP 503 after 120s"]
    assert failed(check(seen)) == {
        "custody event lost",
        "custody event applied twice",
        "audit chain broken",
        "dead letter",
        "personal data in a log",
        "signature did not verify",
        "caller could not complete",
    }


def test_log_leaks_finds_identifiers_as_whole_tokens() -> None:
    lines = [
        '{"event": "notice.accepted", "notice_id": "5f0c"}',
        '{"event": "x", "nhs": "9991234567"}',
        '{"event": "y", "born": "1984-03-02"}',
        '{"event": "z", "postcode": "DH1 3AB", "name": "Chaosabcdefgh"}',
        '{"event": "w", "id": "99912345678"}',  # a longer number that contains the NHS number is not it
    ]
    assert log_leaks(lines, ["9991234567", "1984-03-02", "DH1 3AB", "Chaosabcdefgh"]) == 3
    assert log_leaks(lines, ["A1234BC"]) == 0
