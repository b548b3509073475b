"""The `hash` scenario: how many password verifications per second the machine
can do with the configured first hasher, one process per core. Sign-in verifies
exactly one hash per request, so this is the ceiling for sign-in throughput.

Child processes import only the hasher class (no Django settings, no database)
and start together at an agreed instant, so every core hashes for the same
window.
"""

import multiprocessing
import os
import statistics
import time

from django.utils.module_loading import import_string

PASSWORD = "bench passphrase for load tests"  # noqa: S105 (benchmark data)


def _verify_for(hasher_path: str, encoded: str, start_at: float, seconds: float):
    hasher = import_string(hasher_path)()
    while time.time() < start_at:
        time.sleep(0.001)
    began, cpu_began = time.perf_counter(), time.process_time()
    done = 0
    while time.perf_counter() - began < seconds:
        if not hasher.verify(PASSWORD, encoded):
            raise RuntimeError("verification failed")
        done += 1
    return done, time.perf_counter() - began, time.process_time() - cpu_began


def measure(seconds: float, processes: int | None = None) -> dict:
    """Single-verification time (median of 20, one process) and the
    verifications per second of all cores together."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers

    hasher = get_hashers()[0]
    hasher_path = settings.PASSWORD_HASHERS[0]
    encoded = hasher.encode(PASSWORD, hasher.salt())
    timings = []
    for _ in range(20):
        began = time.perf_counter()
        hasher.verify(PASSWORD, encoded)
        timings.append(time.perf_counter() - began)
    processes = processes or os.cpu_count() or 1
    # spawn: a fresh interpreter per core, nothing inherited from this one.
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        start_at = time.time() + 2.0
        results = pool.starmap(
            _verify_for,
            [(hasher_path, encoded, start_at, seconds)] * processes,
        )
    verifications = sum(done for done, _, _ in results)
    return {
        "hasher": hasher_path,
        "parameters": _parameters(hasher),
        "single_ms": round(statistics.median(timings) * 1000, 2),
        "processes": processes,
        "verifications": verifications,
        "rps": round(sum(done / elapsed for done, elapsed, _ in results), 1),
        # CPU per verification while every core hashes: what a sign-in's own
        # CPU per request is compared with, whatever else ran meanwhile.
        "cpu_ms": round(sum(cpu for _, _, cpu in results) * 1000 / verifications, 2),
    }


def _parameters(hasher) -> str:
    names = ("memory_cost", "time_cost", "parallelism", "iterations", "rounds")
    found = {n: getattr(hasher, n) for n in names if hasattr(hasher, n)}
    if "memory_cost" in found:
        return (
            f"m={found['memory_cost'] // 1024} MiB, t={found['time_cost']}, "
            f"p={found['parallelism']}"
        )
    return ", ".join(f"{k}={v}" for k, v in found.items())
