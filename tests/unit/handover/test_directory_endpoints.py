"""The directory's endpoints as plain rules: rotation, which secrets and references are accepted, the secret
store, and what an admin PUT becomes (SSRF checked, secrets kept by reference only)."""

from __future__ import annotations

import base64
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.common.problems import Problem
from services.handover.adapters.directory_files import without_literals
from services.handover.adapters.secret_store import BadSecret, check_reference, check_secret, store_secret
from services.handover.domain.directory import AgencyRecord, PreviousSecret, WebhookEndpoint
from services.handover.entrypoints.api.directory_input import AgencyPut, entry_from_put

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def endpoint(**extra: object) -> WebhookEndpoint:
    return WebhookEndpoint.model_validate({"url": "https://gp.example.org/hook", "secret_ref": "env:GP_NOW", **extra})


@pytest.mark.hazard("H50")
def test_rotation_keeps_the_current_secret_signing_for_the_overlap_and_drops_ended_overlaps() -> None:
    ended = PreviousSecret(secret_ref="env:ENDED", until=NOW - timedelta(seconds=1))
    running = PreviousSecret(secret_ref="env:RUNNING", until=NOW + timedelta(minutes=5))
    rotated = endpoint(previous_secrets=[ended, running]).rotated("env:GP_NEXT", now=NOW, overlap_seconds=3600)
    assert rotated.secret_ref == "env:GP_NEXT"
    assert [(old.secret_ref, old.until) for old in rotated.previous_secrets] == [
        ("env:GP_NOW", NOW + timedelta(hours=1)),
        ("env:RUNNING", NOW + timedelta(minutes=5)),
    ]


@pytest.mark.hazard("H50")
def test_rotation_without_overlap_stops_every_older_secret_at_once() -> None:
    running = PreviousSecret(secret_ref="env:RUNNING", until=NOW + timedelta(hours=5))
    rotated = endpoint(previous_secrets=[running]).rotated("env:GP_NEXT", now=NOW, overlap_seconds=0)
    assert rotated.secret_refs() == ["env:GP_NEXT"]


@pytest.mark.hazard("H52")
@pytest.mark.parametrize(
    "bad", ["no-prefix-0123456789", "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()]
)
def test_only_standard_webhooks_secrets_are_accepted(bad: str) -> None:
    check_secret(secret())
    with pytest.raises(BadSecret) as refused:
        check_secret(bad)
    assert bad not in str(refused.value), "the refusal never repeats the secret"


@pytest.mark.hazard("H52")
def test_references_name_a_place_never_the_secret() -> None:
    check_reference("env:GP_WEBHOOK_SECRET")
    check_reference("file:/run/secrets/gp")
    for bad in (f"literal:{secret()}", "file:relative/path", "file:/run/../etc/shadow", "vault:x", "env:lower"):
        with pytest.raises(BadSecret):
            check_reference(bad)


@pytest.mark.hazard("H52")
def test_the_secret_store_keeps_each_secret_in_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    given = secret()
    ref = store_secret(tmp_path / "store", "A99001", given)
    path = Path(ref.removeprefix("file:"))
    assert ref.startswith("file:/") and given not in ref and path.read_text() == given
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with pytest.raises(BadSecret):
        store_secret(tmp_path / "store", "../../etc", given)


@pytest.mark.hazard("H52")
def test_literal_secrets_of_seed_files_move_into_the_store(tmp_path: Path) -> None:
    current, old = secret(), secret()
    seed = AgencyRecord.model_validate(
        {
            "code": "A99001",
            "kind": "gp_practice",
            "name": "Practice",
            "webhook": {
                "url": "https://gp.example.org/hook",
                "secret_ref": f"literal:{current}",
                "previous_secrets": [{"secret_ref": f"literal:{old}", "until": "2026-12-02T00:00:00Z"}],
            },
        }
    )
    moved = without_literals(seed, tmp_path)
    assert moved.webhook is not None
    refs = moved.webhook.secret_refs()
    assert all(ref.startswith("file:") for ref in refs) and current not in moved.model_dump_json()
    assert [Path(ref.removeprefix("file:")).read_text() for ref in refs] == [current, old]


def put_body(**webhook: object) -> AgencyPut:
    return AgencyPut.model_validate(
        {
            "code": "A99009",
            "kind": "gp_practice",
            "name": "Practice",
            "webhook": {"url": "https://gp.example.org/hook", **webhook},
        }
    )


@pytest.mark.hazard("H51")
@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/hook",
        "http://gp.example.org/hook",
        "https://localhost/hook",
    ],
)
async def test_a_put_to_an_unsafe_url_is_refused_before_anything_is_stored(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TTG_WEBHOOKS_ALLOW_HTTP", raising=False)
    monkeypatch.delenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", raising=False)
    with pytest.raises(Problem) as refused:
        await entry_from_put(put_body(secret=secret(), **{"url": url}), None, tmp_path / "store")
    assert refused.value.status == 422 and refused.value.kind == "unsafe-webhook-url"
    assert not (tmp_path / "store").exists(), "no secret was stored for a refused endpoint"


@pytest.mark.hazard("H50")
async def test_a_put_without_a_new_secret_keeps_the_current_one_and_a_new_endpoint_needs_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")  # no DNS in unit tests
    running = PreviousSecret(secret_ref="env:RUNNING", until=NOW + timedelta(hours=5))
    existing = AgencyRecord.model_validate(
        {
            "code": "A99009",
            "kind": "gp_practice",
            "name": "Practice",
            "webhook": endpoint(previous_secrets=[running]).model_dump(),
        }
    )
    kept = await entry_from_put(put_body(paused=True), existing, tmp_path)
    assert kept.webhook is not None and kept.webhook.secret_refs() == ["env:GP_NOW", "env:RUNNING"]
    assert kept.webhook.paused
    replaced = await entry_from_put(put_body(secret_ref="env:GP_OTHER"), existing, tmp_path)
    assert replaced.webhook is not None and replaced.webhook.secret_refs() == ["env:GP_OTHER"]
    with pytest.raises(Problem) as refused:
        await entry_from_put(put_body(), None, tmp_path)
    assert refused.value.status == 422


@pytest.mark.hazard("H49")
async def test_a_routing_only_put_keeps_the_endpoint_and_only_an_explicit_null_removes_it(tmp_path: Path) -> None:
    existing = AgencyRecord.model_validate(
        {"code": "A99009", "kind": "gp_practice", "name": "Practice", "webhook": endpoint().model_dump()}
    )
    routing = {
        "code": "A99009",
        "kind": "gp_practice",
        "name": "Practice",
        "coverage": {"postcode_districts": ["NE30"]},
    }
    kept = await entry_from_put(AgencyPut.model_validate(routing), existing, tmp_path)
    assert kept.webhook == existing.webhook and kept.coverage.postcode_districts == ["NE30"]
    removed = await entry_from_put(AgencyPut.model_validate({**routing, "webhook": None}), existing, tmp_path)
    assert removed.webhook is None
