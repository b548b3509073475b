"""How strongly, and how recently, a session proved who is behind it.

Each session (an API session row, or a browser session) carries an Assurance:
`auth_time`, when it last proved a factor; `amr`, the methods it proved, in
order, each once; `aal`, 1, or 2 once a second factor or a passkey was proved.
Access tokens copy it as claims; refresh copies it from the session and never
renews it, so only proving a factor again makes a session "recent" again.

A leaf module: the doors build an Assurance from a token or a browser session
and hand it to the services as a plain value.
"""

import time
from dataclasses import dataclass, field, replace

from django.conf import settings

PASSWORD = "pwd"
OTP = "otp"
RECOVERY_CODE = "rc"
PASSKEY = "pk"
EMAIL = "email"
SECOND_FACTORS = frozenset({OTP, RECOVERY_CODE, PASSKEY})

AUTH_TIME_CLAIM = "auth_time"
AMR_CLAIM = "amr"
AAL_CLAIM = "aal"
SESSION_KEY = "assurance"  # where a browser session keeps it


@dataclass(frozen=True)
class Assurance:
    auth_time: int = 0
    amr: tuple[str, ...] = field(default=())
    aal: int = 1
    session_id: str | None = None

    @classmethod
    def proved(cls, *methods: str, session_id: str | None = None) -> "Assurance":
        """A session that has just proved these methods."""
        return cls(session_id=session_id).then(*methods)

    def then(self, *methods: str) -> "Assurance":
        """This session after proving more methods: recent again, each method
        listed once in the order first proved, level 2 once a second factor or
        a passkey is among them."""
        amr = list(self.amr)
        for method in methods:
            if method not in amr:
                amr.append(method)
        aal = 2 if self.aal == 2 or SECOND_FACTORS.intersection(amr) else 1
        return replace(self, auth_time=int(time.time()), amr=tuple(amr), aal=aal)

    def in_session(self, session_id: str | None) -> "Assurance":
        return replace(self, session_id=session_id)

    def is_recent(self, *, has_mfa: bool, now: float | None = None) -> bool:
        """Proved a factor within REAUTH_WINDOW, at level 2 for an account that
        has a second factor (a password alone never counts for such an account)."""
        now = time.time() if now is None else now
        within = 0 <= now - self.auth_time <= settings.REAUTH_WINDOW
        return within and (self.aal == 2 or not has_mfa)

    def claims(self) -> dict:
        return {
            AUTH_TIME_CLAIM: self.auth_time,
            AMR_CLAIM: list(self.amr),
            AAL_CLAIM: self.aal,
        }

    @classmethod
    def from_claims(cls, claims, session_id: str | None = None) -> "Assurance":
        """From a token's claims or a browser session's record; anything missing
        or malformed reads as "never proved" (auth_time 0, level 1)."""
        try:
            auth_time = int(claims.get(AUTH_TIME_CLAIM) or 0)
            amr = tuple(str(m) for m in claims.get(AMR_CLAIM) or ())
            aal = 2 if claims.get(AAL_CLAIM) == 2 else 1
        except (TypeError, ValueError, AttributeError):
            return cls(session_id=session_id)
        return cls(auth_time=auth_time, amr=amr, aal=aal, session_id=session_id)


NONE = Assurance()
