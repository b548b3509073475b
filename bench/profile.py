"""Where a scenario's Python time goes: py-spy samples every gunicorn worker
during an extra, unrecorded run of the scenario (`--profile me,signin`), keeping
only samples of a thread holding the GIL (running Python, not waiting for the
database or the network), and the stacks are summed per function. Sampling from
outside costs the workers little, and nothing in the service changes.
"""

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise RuntimeError(
            "--profile needs py-spy: pip install -r requirements-dev.txt"
        )
    return found


def record(pids: list[int], seconds: float, out_dir: Path, name: str) -> list:
    """Start one sampler per worker; returns them, to be passed to `collect`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    samplers = []
    for pid in pids:
        output = out_dir / f"{name}-{pid}.txt"
        process = subprocess.Popen(
            [
                py_spy(),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                "250",
                "--format",
                "raw",
                "--gil",
                "--output",
                str(output),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        samplers.append((process, output))
    return samplers


# What a sample's time is spent on: the innermost frame that belongs to one of
# these (path fragment, part) decides; a helper (django/utils, functools) counts
# for the part that called it.
PARTS = (
    ("argon2", "password hashing"),
    ("jwt/", "JWT"),
    ("rest_framework_simplejwt/", "JWT"),
    ("accounts/tokens.py", "JWT"),
    ("accounts/signing_keys.py", "JWT"),
    ("psycopg/", "database driver (psycopg)"),
    ("django/db/", "ORM (query building, model instances)"),
    ("rest_framework/serializers.py", "serializers"),
    ("rest_framework/fields.py", "serializers"),
    ("accounts/api/serializers.py", "serializers"),
    ("json/", "JSON encoding"),
    ("rest_framework/renderers.py", "renderer"),
    ("rest_framework/", "DRF dispatch (request, auth, permissions, throttles)"),
    ("django/urls/", "URL resolving"),
    ("django/middleware/", "middleware"),
    ("django/contrib/sessions/", "middleware"),
    ("django/contrib/messages/", "middleware"),
    ("django/contrib/auth/middleware", "middleware"),
    ("whitenoise/", "middleware"),
    ("corsheaders/", "middleware"),
    ("csp/", "middleware"),
    ("accounts/middleware.py", "middleware"),
    ("django/dispatch/", "signals"),
    ("logging/", "logging"),
    ("django/template/", "templates"),
    ("django/core/handlers/", "Django request handling"),
    ("django/http/", "Django request handling"),
    ("accounts/", "accounts code (services, views)"),
    ("gunicorn/", "gunicorn (HTTP parsing, socket writes)"),
)


def _part(frames: list[str]) -> str:
    for frame in reversed(frames):
        for fragment, part in PARTS:
            if fragment in frame:
                return part
    return "other"


def collect(samplers, top: int = 25) -> dict:
    """Wait for the samplers; the share of samples spent in each part of the
    stack (`parts`), and per function on the stack (inclusive) and on top of it
    (self), busiest first."""
    inclusive, own, parts = Counter(), Counter(), Counter()
    total = 0
    for process, output in samplers:
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if not output.exists():
            continue
        for line in output.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [_short(frame) for frame in stack.split(";")]
            if _idle(frames):
                continue
            samples = int(count)
            total += samples
            for frame in set(frames):
                inclusive[frame] += samples
            own[frames[-1]] += samples
            parts[_part(frames)] += samples
    if not total:
        return {"samples": 0, "parts": [], "inclusive": [], "self": []}

    def share(counter):
        return [
            {"frame": frame, "share": round(n / total, 3)}
            for frame, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "parts": share(parts),
        "inclusive": share(inclusive),
        "self": share(own),
    }


def _short(frame: str) -> str:
    """`view (rest_framework/views.py:490)` without the site-packages prefix."""
    for marker in ("site-packages/", f"{ROOT}/", "lib/python3"):
        if marker in frame:
            head, _, tail = frame.partition("(")
            path = tail.split(marker, 1)[-1]
            return f"{head.strip()} ({path}"
    return frame


def _idle(frames: list[str]) -> bool:
    """Samples outside a request (the worker's own loop) are left out."""
    serving = ("handle_request", "get_response", "_verify_for")
    return not any(mark in frame for frame in frames for mark in serving)


def summary(name: str, found: dict, lines: int = 15, inclusive: int = 0) -> str:
    """The busiest functions, as text (the console; `-profiles.txt`): the parts,
    the functions on top of the stack (self), and with `inclusive` that many
    functions by the share of samples they are anywhere on the stack in."""
    if not found["samples"]:
        return f"  profile {name}: no samples (is py-spy allowed to attach?)"
    out = [f"  profile {name}: {found['samples']} samples of Python holding the GIL"]
    out.append("    share      part")
    out += [f"    {entry['share']:>8.1%}  {entry['frame']}" for entry in found["parts"]]
    out.append("    self       function")
    out += [
        f"    {entry['share']:>8.1%}  {entry['frame']}"
        for entry in found["self"][:lines]
    ]
    if inclusive:
        out.append("    inclusive  function")
        out += [
            f"    {entry['share']:>8.1%}  {entry['frame']}"
            for entry in found["inclusive"][:inclusive]
        ]
    return "\n".join(out)
