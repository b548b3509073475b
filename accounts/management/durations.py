"""The `--older-than` value of the housekeeping commands: `30d`, `12h`."""

import argparse
import re
from datetime import timedelta

from django.utils import timezone

AGE = re.compile(r"(\d+)([dh])")
UNITS = {"d": "days", "h": "hours"}


def age(value: str) -> timedelta:
    """Parse `<N>d` or `<N>h` (an argparse type: a bad value is a usage error)."""
    match = AGE.fullmatch(value.strip().lower())
    if not match or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(
            f"{value!r}: give a positive number of days or hours, like 30d or 12h"
        )
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def cutoff(older_than: timedelta):
    return timezone.now() - older_than


def describe(older_than: timedelta) -> str:
    if older_than % timedelta(days=1):
        return f"{older_than // timedelta(hours=1)}h"
    return f"{older_than.days}d"
