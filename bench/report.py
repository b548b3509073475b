"""Turning a run into its verdicts, a Markdown table, a JSON file and charts.

`python -m bench.report bench/results/<date>.json` prints the tables of a saved
run again (the README's Performance section is pasted from it);
`python -m bench.report --profiles <file>` prints its `--profile` top functions.
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
        if not value_of(denominator):
            # e.g. no PBKDF2 sign-in finished within a short --duration
            found.append(
                {
                    "target": name,
                    "ratio": None,
                    "cpu_ratio": None,
                    "limit": ""
                    if limit is None
                    else f"{'≥' if at_least else '≤'} {limit:.2f}",
                    "errors": errors,
                    "pass": None if limit is None else False,
                    "note": "no request of the reference completed in the run",
                }
            )
            return
        ratio = value_of(numerator) / value_of(denominator)
        passed = limit is not None and errors == 0
        passed = passed and (ratio >= limit if at_least else ratio <= limit)
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
                # No limit: a diagnostic ratio, printed without a verdict.
                "limit": ""
                if limit is None
                else f"{'≥' if at_least else '≤'} {limit:.2f}",
                "errors": errors,
                "pass": None if limit is None else passed,
            }
        )

    def rps(figure):
        return figure["rps"]

    def p50(figure):
        return figure["p50_ms"]

    # issue 18: against the references, measured in the same run.
    add(
        "me ≥ 2 × djoser me (req/s)",
        rows.get("me"),
        rows.get("djoser.me"),
        rps,
        2.0,
        True,
    )
    add(
        "me ≥ 0.35 × bare Django (req/s)",
        rows.get("me"),
        rows.get("bare"),
        rps,
        0.35,
        True,
    )
    add(
        "refresh ≥ 3 × djoser refresh (req/s)",
        rows.get("refresh"),
        rows.get("djoser.refresh"),
        rps,
        3.0,
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
    # Diagnostics, no target.
    add(
        "signin ÷ djoser signin",
        rows.get("signin"),
        rows.get("djoser.signin"),
        rps,
        None,
        True,
    )
    add("me ÷ ceiling", rows.get("me"), rows.get("ceiling"), rps, None, True)
    add("ceiling ÷ bare Django", rows.get("ceiling"), rows.get("bare"), rps, None, True)
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


def header(result: dict) -> list[str]:
    """The command, the machine and the set-up a table comes from."""
    m, c = result.get("machine", {}), result.get("config", {})
    source = result.get("source", {})
    lines = []
    if result.get("command"):
        lines.append(f"Command: `{result['command']}`")
    lines.append(
        f"Date: {result.get('date', '')}, commit `{source.get('commit', '')[:7]}`"
        + (" (uncommitted changes)" if source.get("dirty") else "")
    )
    if m:
        lines.append(
            f"Machine: {m.get('cpu', '')}, {m.get('cores')} cores, "
            f"{m.get('memory_gib')} GiB, Linux {m.get('kernel', '')}, Python "
            f"{m.get('python', '')}, database {m.get('database', '')}, "
            f"{m.get('wrk', '')}; other programs' CPU at start: "
            f"{_percent(m.get('other_cpu_at_start'))}"
        )
    g = c.get("gunicorn", {})
    if g:
        lines.append(
            f"Each target: gunicorn {g.get('workers')} {g.get('worker_class')} "
            f"workers x {g.get('threads')} threads"
            + (f"; {g['config']}" if g.get("config") else "")
            + f"; {c.get('database')}, cache {c.get('cache')}; wrk "
            f"{c.get('wrk', {}).get('connections')} connections, "
            f"{c.get('duration_s')} s per run after {c.get('warmup_s')} s of "
            f"warm-up; {c.get('repeat', 1)} repetitions (medians)"
        )
    return [f"{line}  " for line in lines]


COMPARED = (
    # request, ours, djoser's, other reference, its name
    ("me", "me", "djoser.me", "bare", "bare Django"),
    ("refresh (rotating)", "refresh", "djoser.refresh", None, ""),
    ("signin", "signin", "djoser.signin", "hash", "hash capacity"),
    ("ceiling (diagnostic)", "ceiling", None, "bare", "bare Django"),
)


def comparison(result: dict) -> list[str]:
    """Ours beside the references, req/s (median of the repetitions, each
    repetition's in brackets) and the ratios."""
    rows = {row["key"]: row for row in result["scenarios"]}
    if not any(rows.get(k) for k in ("djoser.me", "djoser.refresh", "bare")):
        return []
    lines = [
        "| request | this service | djoser + simplejwt | ours ÷ djoser "
        "| other reference | ours ÷ it |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, ours_key, djoser_key, other_key, other_name in COMPARED:
        ours = rows.get(ours_key)
        if not ours or not (rows.get(djoser_key) or rows.get(other_key)):
            continue
        djoser = rows.get(djoser_key) if djoser_key else None
        other = rows.get(other_key) if other_key else None
        lines.append(
            f"| {name} | {_rps(ours)} | {_rps(djoser)} | {_ratio(ours, djoser)} "
            f"| {f'{other_name}: {_rps(other)}' if other else ''} "
            f"| {_ratio(ours, other)} |"
        )
    return lines


def _rps(row: dict | None) -> str:
    if not row:
        return ""
    runs = row.get("rps_repetitions") or []
    shown = f"{row['rps']:.1f}"
    if len(runs) > 1:
        shown += f" ({' / '.join(f'{r:.0f}' for r in runs)})"
    if row.get("errors"):
        shown += f", {row['errors']} errors"
    return shown


def _ratio(a: dict | None, b: dict | None) -> str:
    if not a or not b:
        return ""
    if not b.get("rps"):
        return "–"
    return f"{a['rps'] / b['rps']:.2f}"


def _percent(share) -> str:
    return "" if share is None else f"{share:.0%}"


def markdown(result: dict) -> str:
    lines = header(result) + [""]
    compared = comparison(result)
    if compared:
        lines += compared + [""]
    lines += [
        "| scenario | target | users | req/s | p50 ms | p99 ms | errors "
        "| CPU ms/req | other CPU | steal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["scenarios"]:
        users = f"{row['users']:,}" if row.get("users") else ""
        target = row.get("target", "ours")
        if row["key"] == "hash":
            lines.append(
                f"| {row['label']} ({row['processes']} processes; p50 = one "
                f"verification) | {target} | | {row['rps']:.1f} "
                f"| {row['single_ms']:.1f} | | 0 | {row.get('cpu_ms', '')} "
                f"| {_share(row)} | {_share(row, 'steal')} |"
            )
            continue
        label = row["label"].split(" @ ")[0]
        lines.append(
            f"| {label} | {target} | {users} | {row['rps']:.1f} | {row['p50_ms']:.2f} "
            f"| {row['p99_ms']:.2f} | {row['errors']} | {_cpu(row)} | {_share(row)} "
            f"| {_share(row, 'steal')} |"
        )
    memory = result.get("memory", {})
    workers = memory.get("workers", [])
    if workers:
        lines += [
            "",
            "| gunicorn worker (this service) | peak RSS (VmHWM) MiB |",
            "|---|---:|",
        ]
        lines += [f"| pid {w['pid']} | {w['peak_rss_mib']:.1f} |" for w in workers]
    for name, seen in memory.get("references", {}).items():
        if seen:
            peak = max(w["peak_rss_mib"] for w in seen)
            lines.append(f"| {name}: largest of {len(seen)} workers | {peak:.1f} |")
    if result.get("targets"):
        lines += [
            "",
            "| target | measured | limit | result | same ratio from CPU per request |",
            "|---|---:|---:|---|---:|",
        ]
        for t in result["targets"]:
            if t["pass"] is None:
                verdict = "(diagnostic)"
            else:
                verdict = "pass" if t["pass"] else "**miss**"
            if t["errors"]:
                verdict += f" ({t['errors']} errors)"
            if t.get("note"):
                verdict += f" ({t['note']})"
            cpu = "" if t.get("cpu_ratio") is None else t["cpu_ratio"]
            ratio = "–" if t["ratio"] is None else t["ratio"]
            lines.append(
                f"| {t['target']} | {ratio} | {t['limit']} | {verdict} | {cpu} |"
            )
    return "\n".join(lines)


def profiles_text(result: dict) -> str:
    """Each `--profile` row's parts and top functions, as text to paste."""
    # Imported here: reading a saved report should not need the profiler's
    # module unless profiles are asked for.
    from bench.profile import summary

    out = []
    for key, found in result.get("profiles", {}).items():
        out.append(summary(key, found, lines=25, inclusive=15).replace("\n  ", "\n"))
    return "\n\n".join(part.strip() for part in out) + "\n"


def write_profiles(path: Path, result: dict) -> Path:
    """<result>-profiles.txt beside the JSON file."""
    out = path.with_name(f"{path.stem}-profiles.txt")
    out.write_text(header(result)[0].rstrip() + "\n\n" + profiles_text(result))
    return out


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
        # Imported here: charts are optional and matplotlib is slow to import.
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
    if sys.argv[1] == "--profiles":
        print(profiles_text(json.loads(Path(sys.argv[2]).read_text())), end="")
    else:
        print(markdown(json.loads(Path(sys.argv[1]).read_text())))
