"""The scenarios: what each one prepares, which URL and script it drives, and the
rows it adds to the results. `plan()` puts them in the order a run follows."""

import math
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import hashing, machine, population, profile
from bench.load import Run, run_wrk
from bench.server import Service
from bench.smtp import SmtpSink

NAMES = ("ceiling", "me", "signin", "signup", "refresh", "hash", "slow-smtp", "scale")
SIGNUP_PASSWORD = "Signup passphrase for the bench 7"  # noqa: S105 (benchmark data)
ME_TOKENS = 500
SLOW_SMTP_SECONDS = 5.0
STAFF_SEARCH = population.PREFIX
DEEP_PAGES = 10
# Upper bound of the refresh rate when neither `me` nor `ceiling` ran first.
FALLBACK_REFRESH_RPS = 2500


@dataclass
class Row:
    """One line of the results table."""

    key: str
    scenario: str
    label: str
    users: int | None
    run: Run | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        figures = self.run.as_dict() if self.run else {}
        return {
            "key": self.key,
            "scenario": self.scenario,
            "label": self.label,
            "users": self.users,
            **figures,
            **self.extra,
        }


@dataclass
class Context:
    wrk: str
    service: Service
    sink: SmtpSink
    env: dict[str, str]
    work_dir: Path
    seconds: float
    warmup: float
    connections: int
    threads: int
    password: str
    base_users: int
    scale_users: int
    log: Path
    population: int = 0
    rows: list[Row] = field(default_factory=list)
    hash: dict | None = None
    staff_token: str = ""
    wait_idle: float = 0
    profile: set[str] = field(default_factory=set)
    profiles: dict[str, dict] = field(default_factory=dict)

    def drive(self, key: str, path: str, script: str, args=(), *, warmup=True) -> Run:
        """Warm up (not recorded), measure one wrk run, and, when `--profile`
        names this row, sample the workers during one more run (not recorded).
        `args` may be a function giving fresh arguments for each wrk run."""
        url = self.service.base_url + path

        def wrk_run(seconds):
            return run_wrk(
                self.wrk,
                url=url,
                script=script,
                args=list(args() if callable(args) else args),
                seconds=seconds,
                connections=self.connections,
                threads=self.threads,
            )

        self.quiet()
        if warmup and self.warmup > 0:
            wrk_run(self.warmup)
        before = machine.sample()
        run = wrk_run(self.seconds)
        after = machine.sample()
        run.extra.update(machine.interference(before, after))
        run.extra["cpu_ms_per_request"] = self.cpu_per_request(before[0], after[0], run)
        self.service.check_running()
        if key in self.profile:
            if not warmup:
                print(f"  {key}: not profiled (its data is used up)", flush=True)
            else:
                samplers = profile.record(
                    self.service.worker_pids(), self.seconds, self.work_dir, key
                )
                wrk_run(self.seconds)
                self.profiles[key] = profile.collect(samplers)
                print(profile.summary(key, self.profiles[key]), flush=True)
        return run

    def quiet(self) -> None:
        """On a shared machine, give other programs' bursts (a test suite) a
        chance to pass before a figure is taken; `other_cpu` records the rest."""
        if self.wait_idle > 0:
            machine.wait_until_quiet(self.wait_idle)

    def cpu_per_request(self, before, after, run: Run) -> dict[str, float]:
        """Milliseconds of CPU each request cost, by process role: what a
        throughput ratio between two scenarios is made of."""
        used = machine.cpu_by_role(before, after, self.service.roles(after[1]))
        used["wrk"] = run.extra.get("wrk_cpu_s", 0.0)
        requests = max(run.requests, 1)
        return {
            role: round(seconds * 1000 / requests, 3)
            for role, seconds in sorted(used.items())
            if seconds
        }

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        figure = (
            f"{row.run.rps:8.1f} req/s  p50 {row.run.p50_ms:7.2f} ms  "
            f"p99 {row.run.p99_ms:7.2f} ms  errors {row.run.errors}"
            if row.run
            else ""
        )
        busy = row.run.extra.get("other_cpu", 0) if row.run else 0
        warning = (
            f"  (other programs used {busy:.0%} of the CPU)" if busy > 0.05 else ""
        )
        print(f"  {row.label:<50} {figure}{warning}", flush=True)
        return row

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.key == key), None)

    def ensure_population(self, count: int) -> None:
        if self.population < count:
            print(f"  seeding {count:,} users ...", flush=True)
            began = time.monotonic()
            output = population.seed(self.env, count, self.password, self.log)
            print(f"  {output} [{time.monotonic() - began:.1f} s]", flush=True)
            self.population = count

    def token_file(self, name: str, lines) -> str:
        return population.write_lines(self.work_dir / f"{name}.txt", lines)


# ---------------------------------------------------------------------------
def hash_capacity(ctx: Context) -> None:
    """Verifications per second of the first hasher on every core: the ceiling
    for sign-in, which verifies one hash per request."""
    ctx.quiet()
    before = machine.sample()
    result = hashing.measure(ctx.seconds)
    result.update(machine.interference(before, machine.sample()))
    ctx.hash = result
    row = Row("hash", "hash", f"hash: {result['parameters']}", None, extra=result)
    ctx.rows.append(row)
    print(
        f"  {row.label:<50} {result['rps']:8.1f} verifications/s "
        f"({result['processes']} processes), one takes {result['single_ms']} ms",
        flush=True,
    )


def ceiling(ctx: Context) -> None:
    """The plain view through the same middleware: the limit for any request."""
    ctx.add(_ceiling_row(ctx, "ceiling", "ceiling"))


def _ceiling_row(ctx: Context, key: str, scenario: str) -> Row:
    run = ctx.drive(key, "/bench/ceiling", "get.lua")
    label = "ceiling: GET /bench/ceiling"
    if scenario == "scale":
        return Row(key, scenario, _label(label, ctx, scenario), ctx.population, run)
    return Row(key, scenario, label, None, run)


def me(ctx: Context) -> None:
    ctx.ensure_population(ctx.base_users)
    ctx.add(_me_row(ctx, "me", "me"))


def _me_row(ctx: Context, key: str, scenario: str) -> Row:
    names = population.usernames(ME_TOKENS, ctx.population)
    tokens = [pair.access_token for pair in population.mint_sessions(names)]
    run = ctx.drive(key, "/api/v1/users/me", "get.lua", [ctx.token_file(key, tokens)])
    return Row(
        key,
        scenario,
        _label("me: GET /api/v1/users/me", ctx, scenario),
        ctx.population,
        run,
    )


def signin(ctx: Context) -> None:
    ctx.ensure_population(ctx.base_users)
    ctx.add(_signin_row(ctx, "signin", "signin"))


def _signin_row(ctx: Context, key: str, scenario: str) -> Row:
    run = ctx.drive(
        key,
        "/api/v1/auth/signin",
        "signin.lua",
        [population.PREFIX, str(ctx.population), ctx.password],
    )
    return Row(
        key,
        scenario,
        _label("signin: POST /auth/signin", ctx, scenario),
        ctx.population,
        run,
    )


def refresh(ctx: Context) -> None:
    """Each refresh token works once (rotation), so the pool is minted first.
    Its size: 1.5 times `me`'s rate (a refresh does all `me` does but the user
    serialisation, plus a row lock, an UPDATE and two signatures), else the
    ceiling's, over the whole run. Should it still run dry, the script sends
    empty tokens and the figure shows errors: never a silently wrong figure."""
    ctx.ensure_population(ctx.base_users)
    bound = ctx.row("me") or ctx.row("ceiling")
    rate = bound.run.rps * (1.5 if bound.key == "me" else 1) if bound else 0
    size = math.ceil((rate or FALLBACK_REFRESH_RPS) * (ctx.seconds + 1)) + 200
    print(f"  minting {size:,} sessions for the refresh pool ...", flush=True)
    began = time.monotonic()
    pairs = population.mint_sessions(population.usernames(size, ctx.population))
    print(f"  minted in {time.monotonic() - began:.1f} s", flush=True)
    path = ctx.token_file("refresh", (pair.refresh_token for pair in pairs))
    run = ctx.drive(
        "refresh",
        "/api/v1/auth/token/refresh",
        "refresh.lua",
        [path, str(ctx.threads)],
        warmup=False,  # a second wrk would send the same tokens again
    )
    run.extra["pool"] = size
    ctx.add(Row("refresh", "refresh", "refresh: POST /auth/token/refresh", None, run))


def signup(ctx: Context) -> None:
    ctx.add(_signup_row(ctx, "signup", "signup", "signup: POST /auth/signup"))


def _signup_row(ctx: Context, key: str, scenario: str, label: str) -> Row:
    def fresh():
        # New addresses for every wrk run: a reused one would be a 400. They
        # start with the seeded prefix, so the staff list's search still matches
        # every account at scale's large stage, as at its small one: ~1,900
        # newer non-matching accounts would make the date_joined index scan
        # skip them all before its first page, a cost of this run's order, not
        # of the table's size.
        return [population.PREFIX + "su" + secrets.token_hex(4), SIGNUP_PASSWORD]

    run = ctx.drive(key, "/api/v1/auth/signup", "signup.lua", fresh)
    return Row(key, scenario, label, None, run)


def slow_smtp(ctx: Context) -> None:
    """Signup with an instant mail server, then with one answering after 5 s.
    Email leaves through the task queue, so the two p50s should match: only the
    worker waits. The delay stays on afterwards, keeping the worker idle."""
    ctx.sink.set_delay(0)
    ctx.add(
        _signup_row(
            ctx, "slow-smtp.instant", "slow-smtp", "slow-smtp: signup, SMTP 0 s"
        )
    )
    ctx.sink.set_delay(SLOW_SMTP_SECONDS)
    ctx.add(
        _signup_row(
            ctx,
            "slow-smtp.slow",
            "slow-smtp",
            f"slow-smtp: signup, SMTP {SLOW_SMTP_SECONDS:.0f} s",
        )
    )


def scale_small(ctx: Context) -> None:
    ctx.ensure_population(ctx.base_users)
    _scale_rows(ctx, "small")


def scale_large(ctx: Context) -> None:
    ctx.ensure_population(ctx.scale_users)
    _scale_rows(ctx, "large")


def _scale_rows(ctx: Context, stage: str) -> None:
    """The ceiling, signin, me and the staff list at the current population.
    The staff list: the first page of a search matching every account, a page
    DEEP_PAGES `next` links further, and a search matching one account."""
    if not ctx.staff_token:
        ctx.staff_token = population.staff_access_token()
    # The machine's own speed at this stage: the stages run minutes apart, and
    # a host that slowed down between them (see `steal`) would pass for a
    # population effect.
    ctx.add(_ceiling_row(ctx, f"scale.{stage}.ceiling", "scale"))
    ctx.add(_signin_row(ctx, f"scale.{stage}.signin", "scale"))
    ctx.add(_me_row(ctx, f"scale.{stage}.me", "scale"))
    staff = ctx.token_file("staff", [ctx.staff_token])
    first = f"/api/v1/users?search={STAFF_SEARCH}"
    deep = population.follow_next(
        ctx.service.base_url, first, ctx.staff_token, DEEP_PAGES
    )
    one = f"/api/v1/users?search={population.PREFIX}457%40example.com"
    for name, path, label in (
        ("staff-first", first, f"staff list: ?search={STAFF_SEARCH}, first page"),
        ("staff-deep", deep, f"staff list: same search, page {DEEP_PAGES + 1}"),
        ("staff-one", one, "staff list: search matching 1 account"),
    ):
        run = ctx.drive(f"scale.{stage}.{name}", path, "get.lua", [staff])
        ctx.add(
            Row(
                f"scale.{stage}.{name}",
                "scale",
                _label(label, ctx, "scale"),
                ctx.population,
                run,
                extra={"path": path},
            )
        )


def _label(text: str, ctx: Context, scenario: str = "") -> str:
    prefix = f"{scenario} " if scenario == "scale" else ""
    return f"{prefix}{text} @ {ctx.population:,}"


def plan(selected: set[str]) -> list:
    """The run order. The hash runs first on an idle machine; scale's 1,000-user
    stage runs before signups add accounts, its large stage last."""
    steps = [
        ("hash", hash_capacity),
        ("ceiling", ceiling),
        ("me", me),
        ("signin", signin),
        ("scale", scale_small),
        ("refresh", refresh),
        ("signup", signup),
        ("slow-smtp", slow_smtp),
        ("scale", scale_large),
    ]
    return [step for name, step in steps if name in selected]
