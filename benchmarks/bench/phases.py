"""The phases of a run (issue 13). Each returns what the report needs and, for P1 and P2, the latency series the
plot draws; each raises ``PhaseIncomplete`` when the system cannot complete it (generous deadlines)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from benchmarks.bench import limits, wrk
from benchmarks.bench.arrivals import Arrival, Arrivals, PhaseIncomplete
from benchmarks.bench.cpu import cpu_seconds, per_notice_ms
from benchmarks.bench.load import Notices, Sent, send
from benchmarks.bench.profiles import Profile
from benchmarks.bench.rss import PeakRss
from benchmarks.bench.stats import latency_summary_ms, percentile, rate, ratio
from benchmarks.bench.system import ENDPOINTS, BenchSystem, service_pids
from services.common.db import sync_url

HANGING, FAILING = "A99002", "RECONNECT-TEES"  # P5's faulty endpoints (both Teesside's)


def drain_timeout(notices: int) -> float:
    """Generous: the system at its slowest measured (about 10 notices/s) would take a tenth of this."""
    return 120.0 + notices * 1.0


@dataclass
class Context:
    system: BenchSystem
    arrivals: Arrivals
    notices: Notices
    profile: Profile
    workdir: Path
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # phase -> (notified at, latency)


def _check_sent(sent: Sent, phase: str) -> None:
    if sent.refused:
        raise PhaseIncomplete(f"{phase}: {len(sent.refused)} notices refused, first: {sent.refused[0]}")


def _notified(sent: Sent, found: dict[str, list[Arrival]]) -> dict[str, float]:
    """Person -> the time the last of their expected agencies received the pack."""
    return {
        person: max(a.at for a in found[person] if a.agency_code in codes) for person, codes in sent.expected.items()
    }


def _series(sent: Sent, done: dict[str, float], began: float) -> list[tuple[float, float]]:
    """(when the person's last webhook arrived, since the phase began; their latency), in seconds."""
    return sorted((done[p] - began, done[p] - sent.at[p]) for p in done)


WARM_UP_NOTICES = 5


def warm_up(ctx: Context) -> float:
    """A few notices through the whole chain before any phase, seconds: the consumers join their groups (about
    half the session timeout on the embedded broker) and the processes warm up, which the first phase measured
    instead (P1 quick, and P5's clean run when run alone, took seconds that the system spends only once)."""
    began = time.monotonic()
    sent = send(ctx.system.url("release_events"), ctx.system.prison_key, ctx.notices, count=WARM_UP_NOTICES)
    _check_sent(sent, "warm-up")
    ctx.arrivals.wait_all_notified(sent.expected, timeout=drain_timeout(WARM_UP_NOTICES))
    return round(time.monotonic() - began, 1)


def p1_steady(ctx: Context) -> dict[str, Any]:
    """Accept -> every agency notified, at a steady rate: from sending the POST to the last pack webhook's arrival."""
    profile, began = ctx.profile, time.monotonic()
    count = round(profile.steady_rate * profile.steady_seconds)
    sent = send(
        ctx.system.url("release_events"), ctx.system.prison_key, ctx.notices, count=count, rate=profile.steady_rate
    )
    offered = time.monotonic() - began
    _check_sent(sent, "P1")
    done = _notified(sent, ctx.arrivals.wait_all_notified(sent.expected, timeout=drain_timeout(count)))
    ctx.series["P1"] = _series(sent, done, began)
    latencies = [done[p] - sent.at[p] for p in done]
    return {
        "notices": count,
        "rate": profile.steady_rate,
        "sent_seconds": round(offered, 1),
        **latency_summary_ms(latencies),
    }


def p2_burst(ctx: Context) -> tuple[dict[str, Any], dict[str, float]]:
    """A burst fully delivered (seconds from the first POST to the last webhook), and P6: each service's peak RSS."""
    count = ctx.profile.burst
    pids = service_pids(ctx.system)
    cpu_before = cpu_seconds(pids)
    sampler = PeakRss(pids).start()
    try:
        began = time.monotonic()
        sent = send(ctx.system.url("release_events"), ctx.system.prison_key, ctx.notices, count=count)
        accepted = time.monotonic() - began
        _check_sent(sent, "P2")
        done = _notified(sent, ctx.arrivals.wait_all_notified(sent.expected, timeout=drain_timeout(count)))
    finally:
        peaks = sampler.stop()
    cpu = per_notice_ms(cpu_before, cpu_seconds(pids), count)
    ctx.series["P2"] = _series(sent, done, began)
    webhooks = sum(len(codes) for codes in sent.expected.values())
    seconds = max(done.values()) - began
    details = {
        "notices": count,
        "webhooks": webhooks,
        "seconds": round(seconds, 1),
        "accepted_seconds": round(accepted, 1),
        "notices_per_second": round(count / seconds, 1),
        "webhooks_per_second": round(webhooks / seconds, 1),
        "cpu_ms_per_notice": cpu,
    }
    return details, peaks


def _operator(ctx: Context, action: str, code: str) -> None:
    url = f"{ctx.system.url('notifier')}/v1/endpoints/{code}/{action}"
    answer = httpx.post(url, headers={"Authorization": f"Bearer {ctx.system.operator_key}"}, timeout=30.0)
    if answer.status_code != 200:
        raise PhaseIncomplete(f"P4: {action} {code} answered {answer.status_code}")


def _deliveries(ctx: Context) -> int:
    engine = sa.create_engine(sync_url(ctx.system.stack.database_url("notifier")), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM delivery")).scalar_one())
    finally:
        engine.dispose()


def p4_backlog(ctx: Context) -> dict[str, Any]:
    """The notifier's signed-and-recorded webhooks/s while a backlog drains: every endpoint paused, the backlog
    planned (its deliveries recorded, held), then every endpoint resumed; rate from first to last arrival. Its
    limit, the raw aiohttp loop to the same receiver, runs just before, in the same minutes."""
    notice, _ = Notices(ctx.notices.rng).next()
    limit = limits.raw_aiohttp(ctx.system.receiver.url, notice, seconds=ctx.profile.raw_seconds)
    count = ctx.profile.backlog
    before = _deliveries(ctx)
    for code in ENDPOINTS:
        _operator(ctx, "pause", code)
    sent = send(ctx.system.url("release_events"), ctx.system.prison_key, ctx.notices, count=count)
    _check_sent(sent, "P4")
    webhooks = sum(len(codes) for codes in sent.expected.values())
    deadline = time.monotonic() + drain_timeout(count)
    while _deliveries(ctx) < before + webhooks:
        if time.monotonic() > deadline:
            raise PhaseIncomplete(f"P4: the backlog of {webhooks} deliveries was not planned in time")
        time.sleep(0.5)  # polling the notifier's database until the deadline
    resumed = time.monotonic()
    for code in ENDPOINTS:
        _operator(ctx, "resume", code)
    found = ctx.arrivals.wait_all_notified(sent.expected, timeout=drain_timeout(count))
    times = [a.at for items in found.values() for a in items]
    measured = rate(times)
    return {
        "webhooks": webhooks,
        "webhooks_per_second": round(measured, 1),
        "drained_seconds": round(max(times) - resumed, 1),
        "raw_aiohttp": limit,
        "ratio": ratio(measured, limit["requests_per_second"]),
    }


def _healthy_latencies(ctx: Context, faulty: bool) -> list[float]:
    profile = ctx.profile
    excluded = {HANGING, FAILING} if faulty else set()
    count = round(profile.faults_rate * profile.faults_seconds)
    sent = send(
        ctx.system.url("release_events"), ctx.system.prison_key, ctx.notices, count=count, rate=profile.faults_rate
    )
    _check_sent(sent, "P5")
    healthy = {person: frozenset(codes - {HANGING, FAILING}) for person, codes in sent.expected.items()}
    wanted = {person: codes - excluded for person, codes in sent.expected.items()}
    found = ctx.arrivals.wait_all_notified(wanted, timeout=drain_timeout(count))
    return [a.at - sent.at[p] for p, items in found.items() for a in items if a.agency_code in healthy[p]]


def p5_faults(ctx: Context) -> dict[str, Any]:
    """The healthy endpoints' p99 (accept -> that endpoint's webhook) with one endpoint hanging and one answering
    500, as a ratio to a clean run of the same load just before."""
    clean = _healthy_latencies(ctx, faulty=False)
    ctx.arrivals.set_modes({HANGING: "hang", FAILING: "fail"})
    try:
        faulty = _healthy_latencies(ctx, faulty=True)
    finally:
        ctx.arrivals.set_modes({})
    clean_p99, faulty_p99 = percentile(clean, 0.99), percentile(faulty, 0.99)
    return {
        "hanging": HANGING,
        "failing": FAILING,
        "clean": latency_summary_ms(clean),
        "with_faults": latency_summary_ms(faulty),
        "ratio": ratio(faulty_p99, clean_p99),
    }


def p3_intake(ctx: Context) -> dict[str, Any]:
    """Intake requests/s with a new Idempotency-Key (and person) per request, handover and notifier stopped so the
    intake has the machine as the bare app has it; the bare app loaded the same way just before. Runs last: it
    stops the two services."""
    notice, _ = Notices(ctx.notices.rng).next()
    script = ctx.workdir / "intake.lua"
    script.write_text(wrk.lua_script(notice, ctx.system.prison_key))
    profile = ctx.profile
    for service in ("notifier", "handover"):
        ctx.system.stack.stop_service(service)
    bare = limits.bare_fastapi(
        ctx.system.bare_app.url, script, seconds=profile.intake_seconds, connections=profile.intake_connections
    )
    intake = wrk.run(
        ctx.system.url("release_events"), script, seconds=profile.intake_seconds, connections=profile.intake_connections
    )
    if intake.requests and intake.errors == intake.requests:
        raise PhaseIncomplete(f"P3: the intake answered none of {intake.requests} requests with success")
    return {
        "intake_rps": round(intake.good_per_second, 1),
        "intake_errors": intake.errors,
        "intake_latency_ms": intake.latency_ms,
        "bare_fastapi_rps": round(bare.good_per_second, 1),
        "bare_fastapi_latency_ms": bare.latency_ms,
        "connections": profile.intake_connections,
        "ratio": ratio(intake.good_per_second, bare.good_per_second),
    }
