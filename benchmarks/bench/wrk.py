"""Load with ``wrk`` (Debian package ``wrk``): a Lua script posts release notices, each with its own prison number,
NHS number (999 range, valid check digit) and Idempotency-Key, so that the intake does the work of a new notice
every time rather than answering a replay or a duplicate. The same script loads the bare FastAPI app (P3's limit).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRISON_MARK, NHS_MARK = "@@PRISON@@", "@@NHS@@"

# wrk (LuaJIT, Lua 5.1) runs this once per thread. Prison numbers start with Z (the benchmark's own notices never
# do: load.py), so the two never name the same person; the counter makes every number new.
LUA = """
local parts = {%(parts)s}
local counter = 0
local made = 0
thread_id = 0  -- a global: setup() gives each thread's own copy its number
local letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

function setup(thread)
  thread:set("thread_id", made)
  made = made + 1
end

local function nhs(n)
  local digits = string.format("999%%06d", n %% 1000000)
  local total = 0
  for i = 1, 9 do total = total + tonumber(digits:sub(i, i)) * (11 - i) end
  local check = 11 - total %% 11
  if check == 11 then check = 0 end
  if check == 10 then return nil end
  return digits .. check
end

request = function()
  local number
  repeat
    counter = counter + 1
    number = nhs(counter * 4 + thread_id)
  until number
  local n = counter * 4 + thread_id
  local a = math.floor(n / 10000) %% 26 + 1
  local b = math.floor(n / 260000) %% 26 + 1
  local prison = string.format("Z%%04d", n %% 10000) .. letters:sub(a, a) .. letters:sub(b, b)
  local body = parts[1] .. prison .. parts[2] .. number .. parts[3]
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer %(key)s",
    ["Idempotency-Key"] = "bench-" .. thread_id .. "-" .. counter,
  }
  return wrk.format("POST", "/v1/release-notices", headers, body)
end
"""


def lua_script(notice: dict[str, Any], api_key: str) -> str:
    """The Lua script posting ``notice`` with a new prison number, NHS number and Idempotency-Key each time."""
    body = json.dumps({**notice, "prison_number": PRISON_MARK, "nhs_number": NHS_MARK})
    before, rest = body.split(f'"{PRISON_MARK}"')
    middle, after = rest.split(f'"{NHS_MARK}"')
    parts = ", ".join(json.dumps(p) for p in (before + '"', '"' + middle + '"', '"' + after))
    return LUA % {"parts": parts, "key": api_key}


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_second: float
    errors: int  # non-2xx/3xx answers and socket errors
    latency_ms: dict[str, float]  # "p50", "p90", "p99"

    @property
    def good_per_second(self) -> float:
        """Answers that were successes, per second (a refused request is not intake)."""
        return max(0, self.requests - self.errors) / self.seconds if self.seconds else 0.0


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse(output: str) -> WrkResult:
    """The figures of ``wrk --latency`` output."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if done is None:
        raise ValueError(f"wrk printed no request count:\n{output}")
    requests, seconds = int(done.group(1)), _ms(done.group(2) + done.group(3)) / 1000.0
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    latency = {f"p{p}": _ms(v) for p, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)$", output, re.MULTILINE)}
    return WrkResult(requests, seconds, float(rate.group(1)) if rate else 0.0, min(errors, requests), latency)


def run(url: str, script: Path, *, seconds: float, connections: int, threads: int = 1) -> WrkResult:
    """Run wrk against ``url`` for ``seconds`` and parse what it printed."""
    binary = shutil.which("wrk")
    if binary is None:
        raise FileNotFoundError("wrk is needed for P3 and its limit: apt-get install wrk")
    command = [binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    command += ["--timeout", "30s", "-s", str(script), url]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 90, check=True)
    return parse(finished.stdout)
