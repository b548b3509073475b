"""Words for the pages: what an audit event or a user agent means to a person."""

import re

import ua_parser

from accounts.client import USER_AGENT_MAX_LENGTH
from accounts.models import AuthEvent

EVENT_LABELS = {
    AuthEvent.Type.SIGNUP: "Account created",
    AuthEvent.Type.SIGNIN_SUCCEEDED: "Signed in",
    AuthEvent.Type.SIGNIN_FAILED: "Failed sign-in",
    AuthEvent.Type.SIGNOUT: "Signed out of an app",
    AuthEvent.Type.SIGNOUT_ALL: "Signed out everywhere",
    AuthEvent.Type.SESSION_REVOKED: "App signed out",
    AuthEvent.Type.TOKEN_REUSE: "Stolen token detected: every app signed out",
    AuthEvent.Type.PASSWORD_CHANGED: "Password changed",
    AuthEvent.Type.PASSWORD_RESET_REQUESTED: "Password reset requested",
    AuthEvent.Type.PASSWORD_RESET_COMPLETED: "Password reset",
    AuthEvent.Type.EMAIL_VERIFIED: "Email address verified",
    AuthEvent.Type.EMAIL_CHANGED: "Email address changed",
    AuthEvent.Type.EMAIL_CHANGE_REQUESTED: "Email change requested",
    AuthEvent.Type.EMAIL_CHANGE_CANCELLED: "Email change withdrawn",
    AuthEvent.Type.EMAIL_REPLACED: "Email address replaced by staff",
    AuthEvent.Type.PROFILE_UPDATED: "Profile updated",
    AuthEvent.Type.ACCOUNT_DELETED: "Account deleted",
    AuthEvent.Type.ACCOUNT_DEACTIVATED: "Account deactivated",
    AuthEvent.Type.FACTOR_RESET_STARTED: "Staff started a two-factor reset",
    AuthEvent.Type.FACTOR_RESET_ACCEPTED: "Two-factor reset accepted by email",
    AuthEvent.Type.FACTOR_RESET_CANCELLED: "Two-factor reset cancelled",
    AuthEvent.Type.FACTOR_RESET_COMPLETED: "Two-factor sign-in removed by a reset",
    AuthEvent.Type.FACTOR_ADDED: "Two-factor authentication: factor added",
    AuthEvent.Type.FACTOR_REMOVED: "Two-factor authentication: factor removed",
    AuthEvent.Type.RECOVERY_CODES_REGENERATED: "New recovery codes made",
    AuthEvent.Type.RECOVERY_CODE_USED: "Recovery code used",
    AuthEvent.Type.REAUTHENTICATED: "Confirmed it's you",
}


DOOR_LABELS = {"api": "app", "web": "website", "admin": "staff site"}


def event_door(event: AuthEvent) -> str | None:
    """Through what the event came, in words: an app (the API), this website
    or the staff site; None when the service itself acted."""
    door = event.detail.get("door") if isinstance(event.detail, dict) else None
    return DOOR_LABELS.get(door)


def event_label(event: AuthEvent) -> str:
    if event.type == AuthEvent.Type.SIGNOUT and event.detail.get("door") == "web":
        return "Signed out"
    if event.type == AuthEvent.Type.MFA_SIGNIN_FAILED:
        if event.detail.get("reason") == "abandoned":
            return "Right password, sign-in not finished"
        return "Right password, wrong code"
    return EVENT_LABELS.get(event.type, event.get_type_display())


def describe_device(user_agent: str) -> str:
    """ "Firefox on Windows" for a browser; an app's own short name as it is.

    ua-parser's maintained rules, not our own regexes: browsers keep changing
    how they introduce themselves, and a wrong name on the security page makes
    a stolen session look like the owner's own."""
    if not user_agent:
        return "Unknown device"
    parsed = ua_parser.parse(user_agent[:USER_AGENT_MAX_LENGTH])
    browser = parsed.user_agent.family if parsed.user_agent else None
    system = parsed.os.family if parsed.os else None
    if browser and browser != "Other":
        return f"{browser} on {system}" if system and system != "Other" else browser
    if system and system != "Other":
        return f"Browser on {system}"
    # A client's own user agent, e.g. "ada-cli/1.2 (python-requests)": its
    # first word is the most telling part.
    return re.split(r"\s+", user_agent.strip(), maxsplit=1)[0][:60]
