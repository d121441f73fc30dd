"""The console's pure rules: who may hold an account, the lockout, a code used once, when a session is over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from services.common.roles import Role
from services.console.domain.account_rules import (
    AccountError,
    Throttle,
    after_failure,
    check_new_account,
    code_is_fresh,
    is_locked,
    matching_step,
)
from services.console.domain.identity import home_of
from services.console.domain.session_rules import Lifetimes, SessionStage, is_over, stage_after_password

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("user_id", "role", "establishments", "password"),
    [
        ("Nurse", Role.PRISON_HEALTHCARE, ["DMI"], "a long enough password"),
        ("nurse", Role.CONSOLE, [], "a long enough password"),
        ("nurse", Role.PRISON_HEALTHCARE, ["dmi"], "a long enough password"),
        ("nurse", Role.AGENCY, ["DMI"], "a long enough password"),
        ("nurse", Role.AGENCY, [], "short"),
    ],
)
def test_an_account_is_refused_unless_plain_bound_and_with_a_long_password(
    user_id: str, role: Role, establishments: list[str], password: str
) -> None:
    with pytest.raises(AccountError):
        check_new_account(user_id=user_id, role=role, establishments=establishments, password=password)


def test_the_last_allowed_failure_locks_for_the_lockout() -> None:
    throttle = Throttle(attempts=3, lockout=timedelta(minutes=15))
    assert after_failure(1, throttle, NOW) == (2, None)
    assert after_failure(2, throttle, NOW) == (0, NOW + timedelta(minutes=15))
    assert is_locked(NOW + timedelta(minutes=1), NOW) and not is_locked(NOW, NOW) and not is_locked(None, NOW)


def test_a_code_matches_its_step_or_a_neighbour_and_works_once() -> None:
    secret = pyotp.random_base32()
    step = int(NOW.timestamp()) // 30
    assert matching_step(secret, pyotp.TOTP(secret).at(NOW - timedelta(seconds=30)), NOW) == step - 1
    assert matching_step(secret, "12 34 5", NOW) is None
    assert code_is_fresh(step, None) and code_is_fresh(step, step - 1) and not code_is_fresh(step, step)


def test_a_session_is_over_when_idle_or_too_old_and_the_stages_follow_the_second_factor() -> None:
    lifetimes = Lifetimes(idle=timedelta(minutes=30), longest=timedelta(hours=12))
    assert not is_over(created_at=NOW, last_seen_at=NOW, now=NOW + timedelta(minutes=30), lifetimes=lifetimes)
    assert is_over(created_at=NOW, last_seen_at=NOW, now=NOW + timedelta(minutes=31), lifetimes=lifetimes)
    late = NOW + timedelta(hours=13)
    assert is_over(created_at=NOW, last_seen_at=late, now=late, lifetimes=lifetimes)
    assert (
        stage_after_password(True) == SessionStage.SECOND_FACTOR and stage_after_password(False) == SessionStage.ENROL
    )
    assert home_of("prison_healthcare") == "/lounge" and home_of("unknown") == "/"
