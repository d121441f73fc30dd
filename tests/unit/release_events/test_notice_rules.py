"""The pure rules of notices and of their progress downstream."""

from __future__ import annotations

from datetime import timedelta

from contracts.release_notice import ReleaseNoticeV1
from services.release_events.domain.notices import (
    NoticeStage,
    changed_identity,
    content_hash,
    is_duplicate,
    remembered,
    request_hash,
    stage_of,
)
from services.release_events.domain.progress_rules import delivery_moves, is_outcome, pack_moves
from tests.unit.release_events.usecases.support import NOW, notice_body


def test_the_request_hash_ignores_key_order_and_the_content_hash_ignores_spelling() -> None:
    assert request_hash({"a": 1, "b": 2}) == request_hash({"b": 2, "a": 1})
    body = notice_body()
    assert content_hash(ReleaseNoticeV1.model_validate(body)) == content_hash(
        ReleaseNoticeV1.model_validate(dict(body))
    )
    assert request_hash(body) != request_hash({**body, "given_name": "Other"})


def test_a_key_is_remembered_for_its_window_only() -> None:
    window = timedelta(days=7)
    assert remembered(NOW, now=NOW + timedelta(days=6), window=window)
    assert not remembered(NOW, now=NOW + window, window=window)


def test_a_correction_may_not_change_the_person_or_the_establishment() -> None:
    notice = ReleaseNoticeV1.model_validate(notice_body())
    assert changed_identity(notice.prison_number, notice.establishment_code, notice) is None
    assert changed_identity(notice.prison_number, "HHI", notice) == "establishment_code"
    assert changed_identity("A0000AA", "HHI", notice) == "prison_number"


def test_a_repeat_is_a_duplicate_only_with_nothing_in_between() -> None:
    notice = ReleaseNoticeV1.model_validate(notice_body())
    assert is_duplicate(content_hash(notice), notice, custody_event_since=False)
    assert not is_duplicate(content_hash(notice), notice, custody_event_since=True)
    assert not is_duplicate(None, notice, custody_event_since=False)


def test_the_stage_is_the_furthest_step_reached() -> None:
    assert stage_of(pack_state=None, published=False) == NoticeStage.ACCEPTED
    assert stage_of(pack_state=None, published=True) == NoticeStage.PUBLISHED
    assert stage_of(pack_state="amended", published=True) == NoticeStage.PACK_ISSUED
    assert stage_of(pack_state="withdrawn", published=True) == NoticeStage.WITHDRAWN


def test_the_newest_event_wins() -> None:
    later = NOW + timedelta(seconds=1)
    assert pack_moves(version=2, at=NOW, current_version=1, current_at=later)
    assert not pack_moves(version=1, at=NOW, current_version=1, current_at=later)
    assert delivery_moves(at=later, current_at=NOW) and not delivery_moves(at=NOW, current_at=later)
    assert is_outcome("dead_lettered") and not is_outcome("pending")
