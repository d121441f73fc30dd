"""wrk's output is read into figures, and its Lua script sends the notice with the person's numbers in place."""

from __future__ import annotations

import json
import random

import pytest

from benchmarks.bench.wrk import NHS_MARK, PRISON_MARK, lua_script, parse
from ttg.synthetic import release_notice

OUTPUT = """Running 3s test @ http://127.0.0.1:8001
  1 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   240.12ms   60.10ms 600.00ms   70.00%
  Latency Distribution
     50%  236.62ms
     75%  280.00ms
     90%  332.71ms
     99%    1.20s
  240 requests in 3.01s, 120.00KB read
  Non-2xx or 3xx responses: 12
Requests/sec:     79.73
Transfer/sec:     39.87KB
"""


def test_parse_reads_counts_rates_errors_and_latency_in_milliseconds() -> None:
    result = parse(OUTPUT)
    assert (result.requests, result.seconds, result.requests_per_second, result.errors) == (240, 3.01, 79.73, 12)
    assert result.latency_ms == {"p50": 236.62, "p90": 332.71, "p99": 1200.0}
    assert result.good_per_second == pytest.approx(228 / 3.01)


def test_parse_counts_socket_errors_and_refuses_output_without_a_count() -> None:
    with_sockets = OUTPUT.replace(
        "  Non-2xx or 3xx responses: 12\n", "  Socket errors: connect 0, read 2, write 0, timeout 3\n"
    )
    assert parse(with_sockets).errors == 5
    with pytest.raises(ValueError):
        parse("unable to connect to 127.0.0.1:1 Connection refused")


def test_the_lua_script_splits_the_notice_around_the_two_numbers() -> None:
    rng = random.Random(7)
    print("seed 7")
    notice = release_notice(rng)
    script = lua_script(notice, "ttg_key_secret")
    assert PRISON_MARK not in script and NHS_MARK not in script
    assert "Bearer ttg_key_secret" in script and '["Idempotency-Key"]' in script
    parts_line = next(line for line in script.splitlines() if line.startswith("local parts"))
    parts = json.loads("[" + parts_line.removeprefix("local parts = {").removesuffix("}") + "]")
    rebuilt = json.loads(parts[0] + "Z0001AB" + parts[1] + "9990000019" + parts[2])
    assert rebuilt == {**notice, "prison_number": "Z0001AB", "nhs_number": "9990000019"}
