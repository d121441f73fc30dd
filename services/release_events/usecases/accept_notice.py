"""Use case: accept a release notice exactly once, from the establishment that holds the person.

The notice, its event, the idempotency record and the custody register line are stored in one unit of work,
after the register's check; or the first answer to the same Idempotency-Key is replayed; or, without a key, a
repeat of the person's latest notice is answered as a duplicate (see ``domain.notices``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from contracts.envelope import EventType, new_event
from contracts.release_notice import RELEASE_NOTICE_SUBMITTED_SCHEMA, ReleaseNoticeSubmittedV1, ReleaseNoticeV1
from services.common.audit import AuditEntry
from services.common.metrics import RELEASE_NOTICES
from services.common.topics import CUSTODY_EVENTS
from services.release_events.adapters.tables import IdempotencyRecord, ReleaseNoticeRecord
from services.release_events.domain.custody_rules import CustodyRefused, Refused, decide_notice
from services.release_events.domain.notices import (
    IdempotencyConflict,
    content_hash,
    is_duplicate,
    remembered,
    request_hash,
    status_url,
)
from services.release_events.usecases.ports import ReleaseEventsUnitOfWork, WriteConflict
from services.release_events.usecases.refusals import record_refusal

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Submission:
    notice: ReleaseNoticeV1
    body: dict[str, Any]
    idempotency_key: str | None
    scope: str
    correlation_id: str
    audit_entry: AuditEntry | None = None
    idempotency_window: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class SubmissionReply:
    """What the API answers a submission with (kept to answer a retry with the same key the same way)."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False
    duplicate: bool = False
    event_id: str | None = None  # the event of a notice accepted now (not kept: a replay published nothing)

    @property
    def outcome(self) -> str:
        """How the submission was answered, as the notices metric names it."""
        return "replayed" if self.replayed else "duplicate" if self.duplicate else "accepted"


class _Duplicate(Exception):
    """Raised inside the unit of work so that the register line it may have created is not kept."""

    def __init__(self, answer: SubmissionReply) -> None:
        self.answer = answer


async def _key_record(uow: ReleaseEventsUnitOfWork, submission: Submission) -> IdempotencyRecord | None:
    """The stored record of the submission's Idempotency-Key, remembered or expired (None without a key)."""
    if submission.idempotency_key is None:
        return None
    return await uow.idempotency.get(submission.scope, submission.idempotency_key)


def _answer_of(record: IdempotencyRecord | None, submission: Submission, now: datetime) -> SubmissionReply | None:
    if record is None or not remembered(record.created_at, now=now, window=submission.idempotency_window):
        return None
    if record.request_hash != request_hash(submission.body):
        raise IdempotencyConflict
    return SubmissionReply(record.status_code, json.loads(record.response_body), replayed=True)


async def _earlier_answer(
    uow: ReleaseEventsUnitOfWork, submission: Submission, now: datetime
) -> SubmissionReply | None:
    return _answer_of(await _key_record(uow, submission), submission, now)


async def _same_as_latest(uow: ReleaseEventsUnitOfWork, notice: ReleaseNoticeV1) -> str | None:
    """The id of the person's latest notice when this one repeats it."""
    latest = await uow.notices.latest_of(notice.prison_number)
    if latest is None or latest.content_hash != content_hash(notice):
        return None
    since = await uow.custody_events.any_since(notice.prison_number, latest.received_at)
    return latest.id if is_duplicate(latest.content_hash, notice, custody_event_since=since) else None


async def accept_notice(
    *, uow: ReleaseEventsUnitOfWork, submission: Submission, notice_id: str, now: datetime, source: str
) -> SubmissionReply:
    """Raises :class:`IdempotencyConflict` (the key with another body) or :class:`CustodyRefused` (another
    establishment holds the person; the refusal is audited, nothing else stored). Logs nothing of the answer:
    the caller does (:func:`announce`, :func:`.refusals.log_refusal`) once it has committed."""
    try:
        return await _accept(uow=uow, submission=submission, notice_id=notice_id, now=now, source=source)
    except _Duplicate as duplicate:
        return duplicate.answer
    except CustodyRefused as refused:
        if submission.audit_entry is not None:
            await record_refusal(
                uow=uow,
                entry=submission.audit_entry,
                action="notice.refused",
                details={"establishment_code": submission.notice.establishment_code},
                refused=refused.refused,
            )
        raise
    except WriteConflict:
        # A concurrent request with the same key won the race: answer as it did.
        async with uow:
            earlier = await _earlier_answer(uow, submission, now)
        if earlier is None:
            raise
        return earlier


async def _accept(
    *, uow: ReleaseEventsUnitOfWork, submission: Submission, notice_id: str, now: datetime, source: str
) -> SubmissionReply:
    notice = submission.notice
    async with uow:
        key_record = await _key_record(uow, submission)
        earlier = _answer_of(key_record, submission, now)
        if earlier:
            return earlier
        decision = decide_notice(await uow.register.lock(notice.prison_number, now), notice.establishment_code)
        if isinstance(decision, Refused):
            raise CustodyRefused(decision)
        if submission.idempotency_key is None:
            same = await _same_as_latest(uow, notice)
            if same is not None:
                body = {"notice_id": same, "status": "duplicate", "status_url": status_url(same)}
                raise _Duplicate(SubmissionReply(200, body, duplicate=True))
        elif key_record is not None:  # an expired record of the same key gives way to this submission
            created_before = now - submission.idempotency_window
            await uow.idempotency.forget(submission.scope, submission.idempotency_key, created_before=created_before)
        event = new_event(
            type=EventType.RELEASE_NOTICE_SUBMITTED,
            source=source,
            subject=notice.prison_number,
            dataschema=RELEASE_NOTICE_SUBMITTED_SCHEMA,
            data=ReleaseNoticeSubmittedV1(notice_id=notice_id, received_at=now, notice=notice),
            correlation_id=submission.correlation_id,
            time=now,
        )
        answer = SubmissionReply(
            202, {"notice_id": notice_id, "status": "accepted", "status_url": status_url(notice_id)}, event_id=event.id
        )
        uow.notices.add(
            ReleaseNoticeRecord(
                id=notice_id,
                prison_number=notice.prison_number,
                establishment_code=notice.establishment_code,
                event_id=event.id,
                body=notice.model_dump_json(),
                received_at=now,
                revision=1,
                content_hash=content_hash(notice),
            )
        )
        await uow.register.save(notice.prison_number, decision.after, set_by=f"notice:{notice_id}", now=now)
        uow.outbox.add(topic=CUSTODY_EVENTS, event=event)
        if submission.audit_entry is not None:
            await uow.audit.record(replace(submission.audit_entry, resource_id=notice_id))
        if submission.idempotency_key is not None:
            uow.idempotency.add(
                IdempotencyRecord(
                    scope=submission.scope,
                    key=submission.idempotency_key,
                    request_hash=request_hash(submission.body),
                    status_code=answer.status_code,
                    response_body=json.dumps(answer.body),
                    created_at=now,
                )
            )
    return answer


def announce(answer: SubmissionReply, *, establishment_code: str) -> None:
    """Log and count how a submission was answered; called once it is durable (after the group commit's batch
    committed). Under group commit, leaving :func:`accept_notice`'s unit of work only releases a savepoint, so a
    line written there would name a notice the batch could still lose."""
    notice_id = answer.body.get("notice_id")
    if answer.outcome == "accepted":
        log.info(
            "release_notice.accepted", notice_id=notice_id, event_id=answer.event_id, establishment=establishment_code
        )
    else:
        log.info(f"release_notice.{answer.outcome}", notice_id=notice_id)
    RELEASE_NOTICES.labels(answer.outcome).inc()
