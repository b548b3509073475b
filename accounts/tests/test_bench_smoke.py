"""Keeps the benchmark harness (bench/, `make bench`) from rotting.

One cheap scenario for two seconds on a SQLite file of its own, beside the bare
Django reference (cheap: no database, no virtualenv; the djoser reference needs
PostgreSQL and builds a virtualenv, so it is left out with --references): the
harness must start the service with gunicorn.conf.py and the reference, drive
both with wrk, write a result file holding a figure with no errors for each,
and leave no process behind. It asserts that figures exist, never how fast they
are: CI machines vary.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from bench.load import WrkMissing, ensure_wrk
from bench.server import ROOT, processes_with_run_id

pytestmark = pytest.mark.slow


def test_bench_runs_the_ceiling_scenario_beside_bare_and_cleans_up(tmp_path):
    try:
        ensure_wrk()
    except WrkMissing as exc:
        pytest.fail(f"the benchmark smoke test needs wrk: {exc}")
    run_id = f"smoke-{uuid.uuid4().hex}"
    command = [
        sys.executable,
        "-m",
        "bench",
        "--scenarios=ceiling",
        "--references=bare",
        "--repeat=1",
        "--workers=2",
        "--duration=2",
        "--warmup=0",
        "--wait-idle=0",
        "--wait-idle-each=0",
        "--sqlite",
        # The database cache: the smoke test touches no Redis database.
        "--redis-url=",
        f"--output-dir={tmp_path / 'results'}",
        f"--work-dir={tmp_path / 'work'}",
        "--no-charts",
        f"--run-id={run_id}",
    ]

    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            # SIGTERM lets the harness stop the service it started.
            os.killpg(process.pid, signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
        leftovers = _leftovers(run_id)
        for pid in leftovers:
            os.kill(pid, signal.SIGKILL)

    assert process.returncode == 0, output
    assert leftovers == [], f"processes left running: {leftovers}\n{output}"
    results = list((tmp_path / "results").glob("*.json"))
    assert len(results) == 1, output
    rows = json.loads(results[0].read_text())["scenarios"]
    for key in ("ceiling", "bare"):
        row = next(row for row in rows if row["key"] == key)
        assert row["requests"] > 0, row
        assert row["rps"] > 0, row
        assert row["errors"] == 0, row


def _leftovers(run_id: str, patience: float = 10.0) -> list[int]:
    """Processes of this run still alive after `patience` seconds."""
    deadline = time.monotonic() + patience
    while True:
        found = processes_with_run_id(run_id)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
