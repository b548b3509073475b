"""The scenarios: what each one prepares, which URL and script it drives, and the
rows it adds to the results. `plan()` puts them in the order a run follows.

`me`, `signin`, `refresh` and `ceiling` are compared with the references (the
djoser project and the bare Django app, bench/djoser_ref/ and bench/bare/): each
repetition runs ours and the references' same request one after the other, the
order rotating from one repetition to the next, and a row's figure is the
median of its repetitions. The other scenarios run once, on the service only.
"""

import math
import secrets
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import hashing, machine, population, profile
from bench.load import Run, run_wrk
from bench.server import Djoser, Server, Service, peak_rss_mib
from bench.smtp import SmtpSink

NAMES = ("ceiling", "me", "signin", "signup", "refresh", "hash", "slow-smtp", "scale")
REFERENCES = ("djoser", "bare")
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
    target: str = "ours"

    def as_dict(self) -> dict:
        figures = self.run.as_dict() if self.run else {}
        return {
            "key": self.key,
            "scenario": self.scenario,
            "target": self.target,
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
    # The references' servers by name ("djoser", "bare"), and the djoser
    # project's manage.py; ours is `service`.
    references: dict[str, Server] = field(default_factory=dict)
    djoser: Djoser | None = None
    repeat: int = 1
    repetition: int = 0
    # Every repetition's row of a compared request, by key; `finish` keeps the
    # median one in `rows`.
    samples: dict[str, list[Row]] = field(default_factory=dict)
    hash_samples: list[dict] = field(default_factory=list)
    # Peak RSS (VmHWM) of each gunicorn worker seen after a run, by target.
    memory: dict[str, dict[int, float]] = field(default_factory=dict)
    djoser_population: int = 0
    djoser_me_tokens: str = ""

    def drive(
        self,
        key: str,
        path: str,
        script: str,
        args=(),
        *,
        target: Server | None = None,
        warmup=True,
    ) -> Run:
        """Warm up (not recorded), measure one wrk run, and, when `--profile`
        names this row, sample the workers during one more run (not recorded;
        in the first repetition only). `args` may be a function of a run's
        seconds giving fresh arguments for each wrk run (one-use tokens)."""
        target = target or self.service
        url = target.base_url + path

        def arguments(seconds):
            return list(args(seconds) if callable(args) else args)

        def wrk_run(seconds, run_args):
            return run_wrk(
                self.wrk,
                url=url,
                script=script,
                args=run_args,
                seconds=seconds,
                connections=self.connections,
                threads=self.threads,
            )

        warm = warmup and self.warmup > 0
        warm_args = arguments(self.warmup) if warm else None
        run_args = arguments(self.seconds)
        self.quiet()
        self.settle()
        if warm:
            wrk_run(self.warmup, warm_args)
            self.settle()
        before = machine.sample()
        run = wrk_run(self.seconds, run_args)
        after = machine.sample()
        run.extra.update(machine.interference(before, after))
        run.extra["cpu_ms_per_request"] = self.cpu_per_request(
            before[0], after[0], run, target
        )
        target.check_running()
        self.track_memory(target)
        if key in self.profile and key not in self.profiles:
            profile_args = arguments(self.seconds)
            samplers = profile.record(
                target.worker_pids(), self.seconds, self.work_dir, key
            )
            wrk_run(self.seconds, profile_args)
            self.profiles[key] = profile.collect(samplers)
            print(profile.summary(key, self.profiles[key]), flush=True)
        return run

    def track_memory(self, target: Server) -> None:
        """gunicorn.conf.py recycles workers (max_requests): each worker's peak
        is read after every run, before it may be replaced."""
        seen = self.memory.setdefault(target.name, {})
        for pid in target.worker_pids():
            peak = peak_rss_mib(pid)
            if peak:
                seen[pid] = max(seen.get(pid, 0.0), round(peak, 1))

    def settle(self, limit: float = 60.0) -> None:
        """Wait until every target's workers are idle: a sync worker finishes
        the requests wrk left in flight when it stopped, and a slow request's
        backlog (PBKDF2 sign-ins: seconds of CPU) would run into the next
        measurement, slowing it, or another target's."""
        servers = [self.service, *self.references.values()]
        deadline = time.monotonic() + limit
        last = None
        while time.monotonic() < deadline:
            _, processes = machine.snapshot()
            pids = [pid for s in servers for pid in s.worker_pids()]
            ticks = sum(processes[pid][1] for pid in pids if pid in processes)
            if last is not None and ticks - last <= 1:
                return
            last = ticks
            time.sleep(0.3)

    def quiet(self) -> None:
        """On a shared machine, give other programs' bursts (a test suite) a
        chance to pass before a figure is taken; `other_cpu` records the rest."""
        if self.wait_idle > 0:
            machine.wait_until_quiet(self.wait_idle)

    def cpu_per_request(
        self, before, after, run: Run, target: Server
    ) -> dict[str, float]:
        """Milliseconds of CPU each request cost, by process role: what a
        throughput ratio between two scenarios is made of."""
        used = machine.cpu_by_role(before, after, target.roles(after[1]))
        used["wrk"] = run.extra.get("wrk_cpu_s", 0.0)
        requests = max(run.requests, 1)
        return {
            role: round(seconds * 1000 / requests, 3)
            for role, seconds in sorted(used.items())
            if seconds
        }

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return self.show(row)

    def add_sample(self, row: Row) -> Row:
        """One repetition's row of a compared request (see `finish`)."""
        self.samples.setdefault(row.key, []).append(row)
        return self.show(row)

    def latest(self, key: str) -> Row | None:
        found = self.samples.get(key)
        return found[-1] if found else self.row(key)

    def finish(self) -> None:
        """The compared requests' rows: of each one's repetitions, the run with
        the median req/s (the lower of the two middle ones when even), with
        every repetition's req/s beside it; they come first in `rows`."""
        medians = []
        for rows in self.samples.values():
            middle = statistics.median_low(r.run.rps for r in rows)
            chosen = next(r for r in rows if r.run.rps == middle)
            chosen.extra["rps_repetitions"] = [round(r.run.rps, 1) for r in rows]
            chosen.extra["errors_repetitions"] = [r.run.errors for r in rows]
            medians.append(chosen)
        if self.hash_samples:
            middle = statistics.median_low(h["rps"] for h in self.hash_samples)
            chosen = next(h for h in self.hash_samples if h["rps"] == middle)
            chosen["rps_repetitions"] = [h["rps"] for h in self.hash_samples]
            self.hash = chosen
            medians.insert(
                0,
                Row(
                    "hash",
                    "hash",
                    f"hash: {chosen['parameters']}",
                    None,
                    extra=chosen,
                    target="hash",
                ),
            )
        self.rows[:0] = medians
        self.samples.clear()
        self.hash_samples.clear()

    def show(self, row: Row) -> Row:
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
        where = f"[{row.target}] " if row.target != "ours" else ""
        print(f"  {where + row.label:<50} {figure}{warning}", flush=True)
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
    ctx.settle()
    before = machine.sample()
    result = hashing.measure(ctx.seconds)
    result.update(machine.interference(before, machine.sample()))
    ctx.hash_samples.append(result)
    print(
        f"  {'[hash] ' + result['parameters']:<50} {result['rps']:8.1f} "
        f"verifications/s ({result['processes']} processes), one takes "
        f"{result['single_ms']} ms",
        flush=True,
    )


def ceiling(ctx: Context) -> None:
    """The plain view through the same middleware: a diagnostic (the headline
    ratios are to the references)."""
    ctx.add_sample(_ceiling_row(ctx, "ceiling", "ceiling"))


def _ceiling_row(ctx: Context, key: str, scenario: str) -> Row:
    run = ctx.drive(key, "/bench/ceiling", "get.lua")
    label = "ceiling: GET /bench/ceiling"
    if scenario == "scale":
        return Row(key, scenario, _label(label, ctx, scenario), ctx.population, run)
    return Row(key, scenario, label, None, run)


def bare(ctx: Context) -> None:
    """bench/bare/: one Django view, no middleware, no app, no database."""
    run = ctx.drive("bare", "/", "get.lua", target=ctx.references["bare"])
    ctx.add_sample(
        Row(
            "bare", "me", "bare Django: GET / (no middleware)", None, run, target="bare"
        )
    )


def me(ctx: Context) -> None:
    ctx.ensure_population(ctx.base_users)
    ctx.add_sample(_me_row(ctx, "me", "me"))


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
    ctx.add_sample(_signin_row(ctx, "signin", "signin"))


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


def _pool_size(ctx: Context, key: str, me_key: str, seconds: float) -> int:
    """Refresh tokens work once (rotation), so a pool is minted per wrk run.
    Its size: 1.5 times this refresh's last rate, else `me`'s (a refresh does
    all `me` does but the user serialisation, plus writes and signatures), else
    the ceiling's, over the run. Should it still run dry, the script sends
    empty tokens and the figure shows errors: never a silently wrong figure."""
    bound = ctx.latest(key) or ctx.latest(me_key)
    rate = bound.run.rps * 1.5 if bound else 0
    if not rate and key == "refresh" and ctx.latest("ceiling"):
        rate = ctx.latest("ceiling").run.rps
    return math.ceil((rate or FALLBACK_REFRESH_RPS) * (seconds + 1)) + 200


def refresh(ctx: Context) -> None:
    ctx.ensure_population(ctx.base_users)
    pools = []

    def pool(seconds):
        size = _pool_size(ctx, "refresh", "me", seconds)
        pairs = population.mint_sessions(population.usernames(size, ctx.population))
        name = f"refresh-{len(pools)}"
        pools.append(size)
        return [
            ctx.token_file(name, (p.refresh_token for p in pairs)),
            str(ctx.threads),
        ]

    began = time.monotonic()
    run = ctx.drive("refresh", "/api/v1/auth/token/refresh", "refresh.lua", pool)
    run.extra["pool"] = pools[1 if ctx.warmup > 0 else 0]  # the measured one
    run.extra["minting_s"] = round(time.monotonic() - began - run.seconds, 1)
    ctx.add_sample(
        Row("refresh", "refresh", "refresh: POST /auth/token/refresh", None, run)
    )


# --- the djoser reference ---------------------------------------------------
def _djoser_population(ctx: Context) -> int:
    """The djoser project's users: as many as the service's main runs."""
    if ctx.djoser_population < ctx.base_users:
        print(f"  seeding {ctx.base_users:,} djoser users ...", flush=True)
        output = ctx.djoser.manage(
            "seed_users",
            str(ctx.base_users),
            "--password",
            ctx.password,
            "--prefix",
            population.PREFIX,
            log=ctx.log,
        )
        print(f"  {output.strip()}", flush=True)
        ctx.djoser_population = ctx.base_users
    return ctx.djoser_population


def _djoser_tokens(ctx: Context, kind: str, count: int, name: str) -> str:
    size = _djoser_population(ctx)
    names = population.write_lines(
        ctx.work_dir / f"{name}-names.txt", population.usernames(count, size)
    )
    out = str(ctx.work_dir / f"{name}.txt")
    ctx.djoser.manage("mint_tokens", kind, out, "--names", names, log=ctx.log)
    return out


def djoser_me(ctx: Context) -> None:
    """djoser's GET /auth/users/me/ with simplejwt access tokens of 500 users."""
    if not ctx.djoser_me_tokens:
        ctx.djoser_me_tokens = _djoser_tokens(ctx, "access", ME_TOKENS, "djoser-me")
    run = ctx.drive(
        "djoser.me",
        "/auth/users/me/",
        "get.lua",
        [ctx.djoser_me_tokens],
        target=ctx.references["djoser"],
    )
    ctx.add_sample(
        Row(
            "djoser.me",
            "me",
            f"djoser me: GET /auth/users/me/ @ {ctx.djoser_population:,}",
            ctx.djoser_population,
            run,
            target="djoser",
        )
    )


def djoser_signin(ctx: Context) -> None:
    """POST /auth/jwt/create/ (simplejwt's TokenObtainPairView through djoser's
    URLs) as a random seeded user, PBKDF2 as Django ships it."""
    size = _djoser_population(ctx)
    run = ctx.drive(
        "djoser.signin",
        "/auth/jwt/create/",
        "signin.lua",
        [population.PREFIX, str(size), ctx.password],
        target=ctx.references["djoser"],
    )
    ctx.add_sample(
        Row(
            "djoser.signin",
            "signin",
            f"djoser signin: POST /auth/jwt/create/ @ {size:,}",
            size,
            run,
            target="djoser",
        )
    )


def djoser_refresh(ctx: Context) -> None:
    """POST /auth/jwt/refresh/ with rotation and blacklisting, each refresh
    token of a pool minted beforehand (recorded as outstanding) sent once."""
    pools = []

    def pool(seconds):
        size = _pool_size(ctx, "djoser.refresh", "djoser.me", seconds)
        pools.append(size)
        path = _djoser_tokens(ctx, "refresh", size, f"djoser-refresh-{len(pools)}")
        return [path, str(ctx.threads), "refresh"]

    began = time.monotonic()
    run = ctx.drive(
        "djoser.refresh",
        "/auth/jwt/refresh/",
        "refresh.lua",
        pool,
        target=ctx.references["djoser"],
    )
    run.extra["pool"] = pools[1 if ctx.warmup > 0 else 0]  # the measured one
    run.extra["minting_s"] = round(time.monotonic() - began - run.seconds, 1)
    ctx.add_sample(
        Row(
            "djoser.refresh",
            "refresh",
            "djoser refresh: POST /auth/jwt/refresh/ (rotate + blacklist)",
            None,
            run,
            target="djoser",
        )
    )


def signup(ctx: Context) -> None:
    ctx.add(_signup_row(ctx, "signup", "signup", "signup: POST /auth/signup"))


def _signup_row(ctx: Context, key: str, scenario: str, label: str) -> Row:
    def fresh(seconds):
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


def compared(selected: set[str], references: set[str]) -> list[list]:
    """The groups of steps each repetition runs, a group's steps in an order
    rotated by one at each repetition: the request on the service and the same
    request on each reference (and the hash beside signin: its capacity is
    signin's limit). `bare` joins `me`, or `ceiling` when `me` is not run."""
    djoser = "djoser" in references
    groups = []
    if "ceiling" in selected:
        groups.append(
            [ceiling]
            + ([bare] if "bare" in references and "me" not in selected else [])
        )
    if "me" in selected:
        groups.append(
            [me]
            + ([djoser_me] if djoser else [])
            + ([bare] if "bare" in references else [])
        )
    if "signin" in selected:
        groups.append(
            [signin]
            + ([djoser_signin] if djoser else [])
            + ([hash_capacity] if "hash" in selected else [])
        )
    elif "hash" in selected:
        groups.append([hash_capacity])
    if "refresh" in selected:
        groups.append([refresh] + ([djoser_refresh] if djoser else []))
    return groups


def rotated(group: list, repetition: int) -> list:
    shift = repetition % len(group)
    return group[shift:] + group[:shift]


def plan(selected: set[str]) -> list:
    """The steps run once, after the compared ones, in this order: scale's
    1,000-user stage runs before signups add accounts, its large stage last."""
    steps = [
        ("scale", scale_small),
        ("signup", signup),
        ("slow-smtp", slow_smtp),
        ("scale", scale_large),
    ]
    return [step for name, step in steps if name in selected]
