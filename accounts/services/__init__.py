"""The account use cases: every write to an account goes through here.

Both doors (the JSON API and the HTML pages) and the admin call these functions
and map the errors of accounts.errors to their own output. A service never sees
a request: callers pass the client's IP and user agent as plain values.

One module per flow; this package exports them all, so callers write
`services.sign_in(...)` and never need to know which module holds it.
"""

from accounts.client import NO_CLIENT, Client
from accounts.services.account_checks import PROFILE_FIELDS
from accounts.services.authenticators import (
    MfaStatus,
    TotpConfirmed,
    TotpSetup,
    confirm_totp,
    disable_totp,
    mfa_status,
    pending_totp_setup,
    regenerate_recovery_codes,
    rotate_mfa_secrets,
    start_totp_setup,
)
from accounts.services.authority import (
    in_staff_scope,
    may_delete,
    may_grant_rights,
    may_manage,
    may_replace_email,
    require_may_delete,
    require_may_grant_rights,
    require_may_manage,
)
from accounts.services.confinement import (
    is_confined,
    mfa_required_for,
)
from accounts.services.data_export import (
    event_actor,
    export_account_data,
    export_filename,
)
from accounts.services.email_change import (
    cancel_email_change,
    check_email_change_link,
    confirm_email_change,
    replace_email,
    request_email_change,
    withdraw_email_change,
)
from accounts.services.enrolment import (
    ENROL_CODE_LIFETIME,
    check_enrol_code,
    send_enrol_code,
)
from accounts.services.factor_reset import (
    accept_factor_reset,
    cancel_factor_reset,
    cancel_factor_reset_by_link,
    check_factor_reset_link,
    complete_factor_reset,
    start_factor_reset,
)
from accounts.services.housekeeping import (
    HOUSEKEEPING_BATCH,
    flush_rate_counters,
    flush_token_sessions,
    prune_auth_events,
    purge_deleted_users,
)
from accounts.services.mfa_signin import (
    SecondFactorNeeded,
    SecondFactorPassed,
    complete_second_factor,
    report_abandoned_sign_ins,
    start_second_factor,
)
from accounts.services.passwords import (
    change_password,
    check_reset_link,
    request_password_reset,
    reset_password,
    send_reset_link_to_address,
)
from accounts.services.profile import (
    delete_account,
    update_profile,
)
from accounts.services.reauthentication import (
    Reauthenticated,
    reauthenticate,
    require_recent_auth,
)
from accounts.services.second_factor import mfa_methods, verify_second_factor
from accounts.services.sessions import (
    active_browser_sessions,
    active_sessions,
    end_browser_session,
    record_browser_sign_out,
    revoke_browser_session,
    revoke_session,
    rotate_refresh_token,
    sign_out,
    sign_out_all,
    sign_out_everywhere_else,
    start_api_session,
    start_browser_session,
    touch_browser_session,
)
from accounts.services.signin import (
    SignedIn,
    may_sign_in_unverified,
    sign_in,
)
from accounts.services.signin_code import (
    bind_signin_code,
    request_signin_code,
    sign_in_with_code,
    signin_by_code_enabled,
)
from accounts.services.signup import (
    sign_up,
)
from accounts.services.staff import (
    STAFF_FIELDS,
    STAFF_SCOPE_FLAGS,
    activate_user,
    add_user,
    create_user,
    deactivate_user,
    delete_group,
    delete_user,
    mark_email_verified,
    restore_user,
    revoke_user_tokens,
    save_group,
    send_password_reset_link,
    set_user_rights,
    update_user,
)
from accounts.services.user_import import (
    FALSE_WORDS,
    IMPORT_BATCH,
    IMPORT_FIELDS,
    IMPORT_FLAGS,
    IMPORT_PRIVILEGE_FLAGS,
    RAW_BCRYPT,
    TRUE_WORDS,
    ImportResult,
    import_users,
)
from accounts.services.verification import (
    check_verification_link,
    resend_verification,
    send_verification_link_to_address,
    verify_email,
)

__all__ = [
    "touch_browser_session",
    "start_browser_session",
    "sign_out_everywhere_else",
    "revoke_browser_session",
    "end_browser_session",
    "active_browser_sessions",
    "event_actor",
    "export_account_data",
    "export_filename",
    "bind_signin_code",
    "request_signin_code",
    "sign_in_with_code",
    "signin_by_code_enabled",
    "accept_factor_reset",
    "cancel_factor_reset",
    "cancel_factor_reset_by_link",
    "check_factor_reset_link",
    "complete_factor_reset",
    "start_factor_reset",
    "ENROL_CODE_LIFETIME",
    "check_enrol_code",
    "send_enrol_code",
    "is_confined",
    "mfa_required_for",
    "MfaStatus",
    "TotpConfirmed",
    "TotpSetup",
    "confirm_totp",
    "disable_totp",
    "mfa_status",
    "pending_totp_setup",
    "regenerate_recovery_codes",
    "rotate_mfa_secrets",
    "start_totp_setup",
    "Reauthenticated",
    "reauthenticate",
    "SecondFactorNeeded",
    "SecondFactorPassed",
    "complete_second_factor",
    "report_abandoned_sign_ins",
    "start_second_factor",
    "cancel_email_change",
    "check_email_change_link",
    "confirm_email_change",
    "replace_email",
    "request_email_change",
    "withdraw_email_change",
    "mfa_methods",
    "verify_second_factor",
    "require_recent_auth",
    "flush_rate_counters",
    "Client",
    "FALSE_WORDS",
    "HOUSEKEEPING_BATCH",
    "IMPORT_BATCH",
    "IMPORT_FIELDS",
    "IMPORT_FLAGS",
    "IMPORT_PRIVILEGE_FLAGS",
    "ImportResult",
    "NO_CLIENT",
    "PROFILE_FIELDS",
    "RAW_BCRYPT",
    "STAFF_FIELDS",
    "STAFF_SCOPE_FLAGS",
    "SignedIn",
    "TRUE_WORDS",
    "activate_user",
    "active_sessions",
    "add_user",
    "change_password",
    "check_reset_link",
    "check_verification_link",
    "create_user",
    "deactivate_user",
    "delete_account",
    "delete_group",
    "delete_user",
    "flush_token_sessions",
    "import_users",
    "in_staff_scope",
    "mark_email_verified",
    "may_delete",
    "may_grant_rights",
    "may_manage",
    "may_replace_email",
    "may_sign_in_unverified",
    "prune_auth_events",
    "purge_deleted_users",
    "record_browser_sign_out",
    "request_password_reset",
    "require_may_delete",
    "require_may_grant_rights",
    "require_may_manage",
    "resend_verification",
    "reset_password",
    "restore_user",
    "revoke_session",
    "revoke_user_tokens",
    "rotate_refresh_token",
    "save_group",
    "send_password_reset_link",
    "set_user_rights",
    "send_reset_link_to_address",
    "send_verification_link_to_address",
    "sign_in",
    "sign_out",
    "sign_out_all",
    "sign_up",
    "start_api_session",
    "update_profile",
    "update_user",
    "verify_email",
]
