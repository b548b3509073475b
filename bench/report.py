"""Turning a run into its verdicts, a Markdown table, a JSON file and charts.

`python -m bench.report bench/results/<date>.json` prints the tables of a saved
run again (the README's Performance section is pasted from it).
"""

import json
import sys
from datetime import datetime
from pathlib import Path

MEMORY_LIMIT_MIB = 150


def _own_cpu(figure: dict) -> float | None:
    """CPU milliseconds a request cost the service, PostgreSQL, Redis and wrk:
    every process but other programs' and the benchmark's own bookkeeping."""
    if "cpu_ms" in figure:  # the hash: CPU per verification
        return figure["cpu_ms"]
    spent = figure.get("cpu_ms_per_request")
    if not spent:
        return None
    return sum(ms for role, ms in spent.items() if role not in ("other", "bench"))


def targets(rows: dict[str, dict], hash_result: dict | None, memory: dict) -> list:
    """Each target is a ratio of two figures of the same run. A figure with any
    error (a non-2xx, a socket error) makes its target fail: it is not a figure.

    Beside each throughput or latency ratio stands `cpu_ratio`, the same
    comparison made with the CPU time each request cost. Programs outside the
    benchmark slow a wall-clock figure but hardly the CPU a request needs, so on
    a shared machine this column says what the ratio would be on an idle one."""
    found = []

    def add(name, numerator, denominator, value_of, limit, at_least, cpu=True):
        if not numerator or not denominator:
            return
        errors = sum(f.get("errors", 0) for f in (numerator, denominator))
        ratio = value_of(numerator) / value_of(denominator)
        passed = (ratio >= limit if at_least else ratio <= limit) and errors == 0
        cpu_ratio = None
        own = _own_cpu(numerator), _own_cpu(denominator)
        if cpu and all(own):
            # Throughput goes as the inverse of CPU per request.
            cpu_ratio = round(own[1] / own[0] if at_least else own[0] / own[1], 3)
        found.append(
            {
                "target": name,
                "ratio": round(ratio, 3),
                "cpu_ratio": cpu_ratio,
                "limit": f"{'≥' if at_least else '≤'} {limit:.2f}",
                "errors": errors,
                "pass": passed,
            }
        )

    def rps(figure):
        return figure["rps"]

    def p50(figure):
        return figure["p50_ms"]

    add(
        "me ≥ 0.60 × ceiling (req/s)",
        rows.get("me"),
        rows.get("ceiling"),
        rps,
        0.60,
        True,
    )
    add(
        "signin ≥ 0.85 × hash capacity",
        rows.get("signin"),
        hash_result,
        rps,
        0.85,
        True,
    )
    add(
        "slow-smtp signup p50 ≤ 1.10 × instant",
        rows.get("slow-smtp.slow"),
        rows.get("slow-smtp.instant"),
        p50,
        1.10,
        False,
        cpu=False,  # the point is the wait, not the work
    )
    for name in ("signin", "me", "staff-first", "staff-deep", "staff-one"):
        large, small = rows.get(f"scale.large.{name}"), rows.get(f"scale.small.{name}")
        if large and small:
            add(
                f"scale {name}: p50 @ {large['users']:,} ≤ 1.25 × @ {small['users']:,}",
                large,
                small,
                p50,
                1.25,
                False,
            )
    if memory.get("workers"):
        peak = max(w["peak_rss_mib"] for w in memory["workers"])
        found.append(
            {
                "target": f"peak RSS per worker ≤ {MEMORY_LIMIT_MIB} MiB",
                "ratio": round(peak, 1),
                "cpu_ratio": None,
                "limit": f"≤ {MEMORY_LIMIT_MIB}",
                "errors": 0,
                "pass": peak <= MEMORY_LIMIT_MIB,
            }
        )
    return found


def markdown(result: dict) -> str:
    lines = [
        "| scenario | users | req/s | p50 ms | p99 ms | errors | CPU ms/req "
        "| other CPU | steal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["scenarios"]:
        users = f"{row['users']:,}" if row.get("users") else ""
        if row["key"] == "hash":
            lines.append(
                f"| {row['label']} ({row['processes']} processes; p50 = one "
                f"verification) | | {row['rps']:.1f} | {row['single_ms']:.1f} | | 0 "
                f"| {row.get('cpu_ms', '')} | {_share(row)} | {_share(row, 'steal')} |"
            )
            continue
        label = row["label"].split(" @ ")[0]
        lines.append(
            f"| {label} | {users} | {row['rps']:.1f} | {row['p50_ms']:.2f} "
            f"| {row['p99_ms']:.2f} | {row['errors']} | {_cpu(row)} | {_share(row)} "
            f"| {_share(row, 'steal')} |"
        )
    workers = result.get("memory", {}).get("workers", [])
    if workers:
        lines += ["", "| gunicorn worker | peak RSS (VmHWM) MiB |", "|---|---:|"]
        lines += [f"| pid {w['pid']} | {w['peak_rss_mib']:.1f} |" for w in workers]
    if result.get("targets"):
        lines += [
            "",
            "| target | measured | limit | result | same ratio from CPU per request |",
            "|---|---:|---:|---|---:|",
        ]
        for t in result["targets"]:
            verdict = "pass" if t["pass"] else "**FAIL**"
            if t["errors"]:
                verdict += f" ({t['errors']} errors)"
            cpu = "" if t.get("cpu_ratio") is None else t["cpu_ratio"]
            lines.append(
                f"| {t['target']} | {t['ratio']} | {t['limit']} | {verdict} | {cpu} |"
            )
    return "\n".join(lines)


def _cpu(row: dict) -> str:
    own = _own_cpu(row)
    return "" if own is None else f"{own:.2f}"


def _share(row: dict, key: str = "other_cpu") -> str:
    share = row.get(key)
    return "" if share is None else f"{share:.0%}"


def output_path(directory: Path, now: datetime) -> Path:
    """bench/results/<date>.json; a second run on the same day gets -2, -3, ..."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = now.strftime("%Y-%m-%d")
    path = directory / f"{stem}.json"
    counter = 2
    while path.exists():
        path = directory / f"{stem}-{counter}.json"
        counter += 1
    return path


def write_json(path: Path, result: dict) -> None:
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


def charts(path: Path, result: dict) -> list[Path]:
    """One PNG per scenario: its latency percentiles (git-ignored)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    by_scenario: dict[str, list[dict]] = {}
    for row in result["scenarios"]:
        if "percentiles_ms" in row:
            by_scenario.setdefault(row["scenario"], []).append(row)
    for scenario, rows in by_scenario.items():
        figure, axes = plt.subplots(figsize=(7, 4))
        for row in rows:
            points = sorted((float(p), ms) for p, ms in row["percentiles_ms"].items())
            axes.plot(
                [p for p, _ in points],
                [ms for _, ms in points],
                marker="o",
                label=f"{row['label']} ({row['rps']:.0f} req/s)",
            )
        axes.set_xlabel("percentile")
        axes.set_ylabel("latency (ms)")
        axes.set_title(f"{scenario} ({result['date'][:10]})")
        axes.legend(fontsize=7)
        axes.grid(alpha=0.3)
        out = path.with_name(f"{path.stem}-{scenario}.png")
        figure.tight_layout()
        figure.savefig(out, dpi=100)
        plt.close(figure)
        written.append(out)
    return written


if __name__ == "__main__":
    print(markdown(json.loads(Path(sys.argv[1]).read_text())))
