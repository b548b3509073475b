"""wrk: installing it when missing, running one script against one URL for a
bounded time, and reading the figures the Lua scripts print (bench/lua/)."""

import json
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
RESULT_MARK = "BENCH_RESULT "


class WrkMissing(RuntimeError):
    pass


def ensure_wrk() -> str:
    """Path of wrk, installing Debian's package when run as root with apt-get."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "wrk"],
        ):
            result = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=600
            )
            if result.returncode != 0:
                raise WrkMissing(
                    f"wrk is missing and `{' '.join(command)}` failed:\n"
                    f"{result.stderr[-2000:]}"
                )
        found = shutil.which("wrk")
        if found:
            return found
    raise WrkMissing(
        "wrk is missing: install it (Debian/Ubuntu: `apt-get install wrk`, macOS: "
        "`brew install wrk`) and run the benchmark again."
    )


@dataclass
class Run:
    """One wrk run's figures. Latencies in milliseconds."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    percentiles_ms: dict[str, float]
    errors: int
    non2xx: int
    socket_errors: dict[str, int]
    statuses: dict[str, int]
    exhausted: int = 0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "percentiles_ms": self.percentiles_ms,
            "errors": self.errors,
            "non2xx": self.non2xx,
            "socket_errors": self.socket_errors,
            "statuses": self.statuses,
            "exhausted": self.exhausted,
            **self.extra,
        }


def run_wrk(
    wrk: str,
    *,
    url: str,
    script: str,
    args: list[str] = (),
    seconds: float,
    connections: int,
    threads: int,
) -> Run:
    """Drive `url` for `seconds` with `connections` keep-alive connections."""
    command = [
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=30s",
        f"--script={LUA_DIR / script}",
        url,
        "--",
        *args,
    ]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 120
    )
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(
        (
            line[len(RESULT_MARK) :]
            for line in result.stdout.splitlines()
            if line.startswith(RESULT_MARK)
        ),
        None,
    )
    if result.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({result.returncode}) on {url}:\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    run = parse(json.loads(line))
    # wrk has exited (and been waited for) by now: its CPU is in our children's.
    run.extra["wrk_cpu_s"] = round(
        children_after.ru_utime
        + children_after.ru_stime
        - children_before.ru_utime
        - children_before.ru_stime,
        3,
    )
    return run


def parse(raw: dict) -> Run:
    seconds = raw["duration_us"] / 1e6
    percentiles = {
        p: round(us / 1000, 3) for p, us in raw["latency_us"]["percentiles"].items()
    }
    socket_errors = {k: v for k, v in raw["errors"].items() if k != "status"}
    non2xx = raw["non2xx"]
    return Run(
        requests=raw["requests"],
        seconds=seconds,
        rps=raw["requests"] / seconds if seconds else 0.0,
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        percentiles_ms=percentiles,
        # A request that failed at the socket never got a status: count it too.
        errors=non2xx + sum(socket_errors.values()),
        non2xx=non2xx,
        socket_errors=socket_errors,
        statuses=raw["statuses"],
        exhausted=raw.get("exhausted", 0),
    )
