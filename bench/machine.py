"""The machine the figures come from, and how busy other programs kept it.

Every figure is only as good as the idle machine it was measured on. Each run
therefore records `other_cpu`: the share of all cores that processes outside the
benchmark used meanwhile (a test suite, a build). The benchmark's own processes
are its descendants and PostgreSQL's and Redis's (they serve it).
"""

import os
import platform
import subprocess
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: str) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    return [stat[stat.index("(") + 1 : stat.rindex(")")]] + stat[
        stat.rindex(")") + 2 :
    ].split()


def snapshot() -> tuple[float, dict[int, tuple[int, int, str]]]:
    """(monotonic time, {pid: (parent, cpu ticks, name)}) for every process."""
    processes = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields is None:
            continue
        name, parent = fields[0], int(fields[2])
        # utime and stime: fields 14 and 15 of proc(5), here 12 and 13.
        ticks = int(fields[12]) + int(fields[13])
        processes[int(entry)] = (parent, ticks, name)
    return time.monotonic(), processes


def descendants(processes: dict, root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, ()))
    return found


def cpu_by_role(before, after, roles: dict[str, set[int]] | None = None) -> dict:
    """CPU seconds used between two snapshots, by role: the named pid sets, then
    PostgreSQL, Redis, the rest of the benchmark, and `other` programs. A
    process that ended in between is missing (wrk: see load.run_wrk)."""
    (_, first), (_, last) = before, after
    roles = roles or {}
    ours = descendants(last, os.getpid()) | descendants(first, os.getpid())
    used: dict[str, float] = {name: 0.0 for name in roles}
    for pid, (_, ticks, name) in last.items():
        previous = first.get(pid)
        delta = (ticks - (previous[1] if previous else 0)) / TICKS
        if delta <= 0:
            continue
        role = next((r for r, pids in roles.items() if pid in pids), None)
        if role is None:
            if name.startswith("postgres"):
                role = "postgres"
            elif name.startswith("redis"):
                role = "redis"
            elif pid in ours:
                role = "bench"
            else:
                role = "other"
        used[role] = used.get(role, 0.0) + delta
    return used


def other_cpu(before, after) -> float:
    """Share of the machine (0..1) used by other programs between two snapshots."""
    seconds = after[0] - before[0]
    capacity = seconds * (os.cpu_count() or 1)
    other = cpu_by_role(before, after).get("other", 0.0)
    return round(other / capacity, 3) if capacity else 0.0


def cpu_ticks() -> tuple[int, int]:
    """(stolen, total) CPU ticks of all cores since boot, from /proc/stat.
    Stolen: time the hypervisor ran other guests while this one had work, which
    slows every figure alike and which no process of this machine shows."""
    try:
        line = Path("/proc/stat").read_text().split("\n", 1)[0]
    except OSError:
        return 0, 0
    # cpu user nice system idle iowait irq softirq steal (guest time is in user)
    values = [int(v) for v in line.split()[1:9]]
    return (values[7] if len(values) == 8 else 0), sum(values)


def sample():
    """What `interference` compares: the processes, and the machine's ticks."""
    return snapshot(), cpu_ticks()


def interference(before, after) -> dict[str, float]:
    """What else slowed the machine between two samples: the share of it other
    programs used, and the share the hypervisor stole."""
    (stolen_before, total_before), (stolen_after, total_after) = before[1], after[1]
    total = total_after - total_before
    return {
        "other_cpu": other_cpu(before[0], after[0]),
        "steal": round((stolen_after - stolen_before) / total, 3) if total > 0 else 0.0,
    }


def wait_until_quiet(limit_seconds: float, threshold: float = 0.10) -> float:
    """Wait (at most `limit_seconds`) for other programs to leave the CPU alone;
    the share they used in the last probe."""
    deadline = time.monotonic() + limit_seconds
    while True:
        before = snapshot()
        time.sleep(2)
        share = other_cpu(before, snapshot())
        if share <= threshold or time.monotonic() >= deadline:
            return share
        print(
            f"  other programs use {share:.0%} of the CPU; waiting for quiet ...",
            flush=True,
        )
        time.sleep(3)


def describe(wrk: str, database_version: str) -> dict:
    cpu, memory_kib = "", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    version = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "database": database_version,
        "wrk": (version.stdout or version.stderr).split("Copyright")[0].strip(),
    }
