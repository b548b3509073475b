"""Read accounts exported from another system and hand them to
services.import_users, which validates and writes them."""

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts import services

REQUIRED_COLUMNS = {"email", "username"}


class Command(BaseCommand):
    help = (
        "Create accounts from a .csv or .jsonl file with email, username, "
        "first_name, last_name, hashed_password (bcrypt $2b$... or a Django "
        "hash), is_active, is_superuser, email_verified. Rows whose address "
        "already has an account are refused, never merged; bad rows are "
        "reported by line and skipped; re-running is safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--allow-privileges",
            action="store_true",
            help="Import is_superuser. Without it, rows that set it are refused.",
        )

    def handle(self, *args, file: Path, allow_privileges: bool = False, **options):
        readers = {".csv": self._csv_rows, ".jsonl": self._jsonl_rows}
        reader = readers.get(file.suffix.lower())
        if reader is None:
            raise CommandError(f"{file}: expected a .csv or .jsonl file")
        try:
            handle = file.open(encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from exc
        self.failed_to_read = 0
        with handle:
            try:
                result = services.import_users(
                    rows=reader(handle),
                    on_error=self._report,
                    allow_privileges=allow_privileges,
                )
            except UnicodeDecodeError:
                raise CommandError(
                    f"{file}: not valid UTF-8; the batches read before the "
                    "bad bytes were imported"
                ) from None
        self.stdout.write(
            f"Imported {file.name}: {result.created} created, "
            f"{result.already_registered} already registered, "
            f"{result.failed + self.failed_to_read} failed."
        )

    def _report(self, line: int, reason: str) -> None:
        self.stderr.write(f"line {line}: {reason}")

    def _unreadable(self, line: int, reason: str) -> None:
        self.failed_to_read += 1
        self._report(line, reason)

    def _csv_rows(self, handle):
        rows = csv.DictReader(handle)
        columns = set(rows.fieldnames or ())
        missing = REQUIRED_COLUMNS - columns
        if missing:
            raise CommandError(f"missing column(s): {', '.join(sorted(missing))}")
        unknown = columns - set(services.IMPORT_FIELDS)
        if unknown:
            # Refused up front: a misspelt hashed_password column would otherwise
            # create every account without its password.
            raise CommandError(f"unknown column(s): {', '.join(sorted(unknown))}")
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                self._unreadable(rows.line_num, f"unreadable CSV ({exc})")
                continue
            if None in row or None in row.values():
                self._unreadable(rows.line_num, "wrong number of columns")
                continue
            yield rows.line_num, row

    def _jsonl_rows(self, handle):
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except ValueError as exc:
                # The position only: the message never quotes the line, which
                # may hold a password hash.
                self._unreadable(
                    line, f"not valid JSON (column {getattr(exc, 'colno', '?')})"
                )
                continue
            yield line, row
