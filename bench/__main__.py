"""`python -m bench` (`make bench`): start the service as the README deploys it
and, beside it, the references (a stock djoser + simplejwt project and a bare
Django app, served by the same gunicorn settings on the same PostgreSQL server);
drive each scenario with wrk, the service's and the references' runs
interleaved and repeated; print the tables and write bench/results/<date>.json.

Everything runs on this machine over loopback, every run is bounded in time, and
every process started is stopped again, whatever happens (try/finally; SIGTERM
and Ctrl-C included).
"""

import argparse
import os
import secrets
import shlex
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import machine, population, report, scenarios, server
from bench.load import WrkMissing, ensure_wrk
from bench.server import (
    ROOT,
    Database,
    free_port,
    manage,
    redis_url_if_reachable,
    service_environment,
)
from bench.smtp import SmtpSink


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--scenarios",
        default=",".join(scenarios.NAMES),
        help=f"comma-separated, from: {', '.join(scenarios.NAMES)} (default: all)",
    )
    parser.add_argument(
        "--duration", type=float, default=10, help="seconds per scenario run"
    )
    parser.add_argument(
        "--warmup", type=float, default=2, help="unrecorded seconds before a run"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=4 * (os.cpu_count() or 1),
        help="wrk keep-alive connections (default: 4 per core)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--references",
        default=None,
        help="comma-separated, from: djoser, bare; 'none' for none "
        "(default: both; bare only with --sqlite)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="repetitions of the compared requests (me, signin, refresh, "
        "ceiling, hash), interleaved with the references'; medians are reported",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=3,
        help="gunicorn sync workers of every target (WEB_CONCURRENCY)",
    )
    parser.add_argument(
        "--djoser-venv",
        type=Path,
        default=ROOT / "var" / "bench-venvs" / "djoser",
        help="the djoser reference's virtualenv, built from "
        "bench/djoser_ref/requirements.txt when missing or stale",
    )
    parser.add_argument(
        "--sqlite",
        action="store_true",
        help="use a fresh SQLite file instead of a PostgreSQL database",
    )
    parser.add_argument(
        "--postgres-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server and a role that may create databases",
    )
    parser.add_argument("--database-name", default="identity_bench")
    parser.add_argument(
        "--keep-database", action="store_true", help="do not drop it at the end"
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/13",
        help="the cache, as in production; the database cache if nothing answers",
    )
    parser.add_argument(
        "--users", type=int, default=1000, help="seeded users for the main runs"
    )
    parser.add_argument(
        "--scale-users",
        type=int,
        default=None,
        help="population of scale's large stage "
        "(default: 1,000,000 on PostgreSQL, 100,000 on SQLite)",
    )
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--no-charts", action="store_true")
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated row keys (e.g. me,signin,scale.large.staff-one) to "
        "sample with py-spy during one extra, unrecorded run",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=60,
        help="seconds to wait at most, before starting, for other programs to "
        "leave the CPU idle",
    )
    parser.add_argument(
        "--wait-idle-each",
        type=float,
        default=20,
        help="the same before each measured run (0: never wait)",
    )
    parser.add_argument(
        "--run-id", default=secrets.token_hex(8), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    args.scenarios = {s.strip() for s in args.scenarios.split(",") if s.strip()}
    unknown = args.scenarios - set(scenarios.NAMES)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.scale_users is None:
        args.scale_users = 100_000 if args.sqlite else 1_000_000
    if args.duration <= 0 or args.duration > 600:
        parser.error("--duration: between 0 and 600 seconds")
    if args.references is None:
        args.references = "bare" if args.sqlite else "djoser,bare"
    args.references = {
        r.strip() for r in args.references.split(",") if r.strip() not in ("", "none")
    }
    unknown = args.references - set(scenarios.REFERENCES)
    if unknown:
        parser.error(f"unknown references: {', '.join(sorted(unknown))}")
    if "djoser" in args.references and args.sqlite:
        parser.error("the djoser reference needs PostgreSQL: --references bare")
    if args.repeat < 1 or args.workers < 1:
        parser.error("--repeat and --workers: at least 1")
    return args


def _stop_on_sigterm(signum, frame):
    # Turned into an exception so the finally blocks stop what was started.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        wrk = ensure_wrk()
    except WrkMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    work_dir = args.work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / "prepare.log"
    log.write_text("")
    database = (
        Database.sqlite(work_dir / "identity_bench.sqlite3")
        if args.sqlite
        else Database.postgresql(args.postgres_url, args.database_name)
    )
    redis_url = redis_url_if_reachable(args.redis_url) if args.redis_url else ""
    port, smtp_port = free_port(), free_port()
    env = service_environment(
        database=database,
        port=port,
        smtp_port=smtp_port,
        redis_url=redis_url,
        run_id=args.run_id,
        workers=args.workers,
    )
    gunicorn = server.shipped_gunicorn_settings(args.workers, work_dir)
    djoser = None
    if "djoser" in args.references:
        djoser = server.Djoser(
            venv=args.djoser_venv.resolve(),
            database=Database.postgresql(
                args.postgres_url, f"{args.database_name}_djoser"
            ),
            run_id=args.run_id,
        )
    print(f"bench: {database.engine} {database.name}, work files in {work_dir}")
    # What is served is what the tree holds when the service starts; an edit
    # made while the run goes on is not in the figures.
    source = _source()
    other_cpu = machine.wait_until_quiet(args.wait_idle) if args.wait_idle else None
    started = datetime.now(UTC)
    databases = [database] + ([djoser.database] if djoser else [])
    machine_facts = machine.describe(wrk, database.version())
    machine_facts["other_cpu_at_start"] = other_cpu
    sink = SmtpSink(smtp_port)
    service = server.our_service(env, port, work_dir)
    references: dict[str, server.Server] = {}
    context = None
    try:
        for db in databases:
            db.create()
        manage(env, "migrate", "--noinput", log=log)
        if not redis_url:
            manage(env, "createcachetable", log=log)
        if djoser:
            djoser.ensure_venv(log)
            djoser.manage("migrate", "--noinput", log=log)
        sink.start()
        service.start()
        if djoser:
            references["djoser"] = djoser.server(gunicorn, free_port(), work_dir)
        if "bare" in args.references:
            references["bare"] = server.bare(
                gunicorn, free_port(), work_dir, args.run_id
            )
        for reference in references.values():
            reference.start()
        population.use_service_settings(env)
        context = scenarios.Context(
            wrk=wrk,
            service=service,
            sink=sink,
            env=env,
            work_dir=work_dir,
            seconds=args.duration,
            warmup=args.warmup,
            connections=args.connections,
            threads=args.threads,
            password=population.PASSWORD,
            base_users=args.users,
            scale_users=args.scale_users,
            log=log,
            wait_idle=args.wait_idle_each,
            profile={k.strip() for k in args.profile.split(",") if k.strip()},
            references=references,
            djoser=djoser,
            repeat=args.repeat,
        )
        print(
            f"service: {service.base_url} (gunicorn.conf.py); "
            + "".join(f"{name}: {r.base_url}; " for name, r in references.items())
            + f"each gunicorn {gunicorn['workers']} {gunicorn['worker_class']} "
            f"workers x {gunicorn['threads']} threads; wrk {args.connections} "
            f"connections, {args.threads} threads, {args.duration:g} s per run, "
            f"{args.repeat} repetitions",
            flush=True,
        )
        groups = scenarios.compared(args.scenarios, args.references)
        for repetition in range(args.repeat):
            context.repetition = repetition
            if groups:
                print(f"- repetition {repetition + 1} of {args.repeat}", flush=True)
            for group in groups:
                for step in scenarios.rotated(group, repetition):
                    step(context)
        context.finish()
        for step in scenarios.plan(args.scenarios):
            print(f"- {step.__name__}", flush=True)
            step(context)
    except KeyboardInterrupt:
        print("bench: interrupted, stopping everything", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        for reference in references.values():
            reference.stop()
        service.stop()
        sink.stop()
        if context is not None:
            population.close_connections()
        if not args.keep_database:
            for db in databases:
                db.drop()

    memory = {
        name: [
            {"pid": pid, "peak_rss_mib": peak} for pid, peak in sorted(peaks.items())
        ]
        for name, peaks in context.memory.items()
    }
    result = {
        "date": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(UTC) - started).total_seconds()),
        "command": "python -m bench" + (f" {shlex.join(argv)}" if argv else ""),
        "source": source,
        "machine": machine_facts,
        "config": {
            "database": database.engine,
            "cache": "redis" if redis_url else "database",
            "gunicorn": {
                "config": "the service with gunicorn.conf.py, the references "
                "with its settings as flags",
                **gunicorn,
            },
            "references": sorted(args.references),
            "repeat": args.repeat,
            "wrk": {"connections": args.connections, "threads": args.threads},
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "wait_idle_s": [args.wait_idle, args.wait_idle_each],
            "users": args.users,
            "scale_users": args.scale_users,
            "scenarios": sorted(args.scenarios),
        },
        "hash": context.hash,
        "scenarios": [row.as_dict() for row in context.rows],
        # The service's workers under "workers" (the RSS target), the
        # references' under their names.
        "memory": {"workers": memory.pop("ours", []), "references": memory},
        "profiles": context.profiles,
    }
    rows = {row["key"]: row for row in result["scenarios"]}
    result["targets"] = report.targets(rows, context.hash, result["memory"])
    path = report.output_path(args.output_dir, started)
    report.write_json(path, result)
    print()
    print(report.markdown(result))
    print(f"\nwritten: {_shown(path)}")
    if context.profiles:
        print(f"profiles: {_shown(report.write_profiles(path, result))}")
    if not args.no_charts:
        for chart in report.charts(path, result):
            print(f"chart: {chart.name}")
    return 0


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _source() -> dict:
    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        # Uncommitted changes in the tree were measured too: say so.
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


if __name__ == "__main__":
    raise SystemExit(main())
