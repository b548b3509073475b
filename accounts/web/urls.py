from django.urls import path

from accounts.web import passkeys, views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.SignUpView.as_view(), name="signup"),
    path("signup/done/", views.SignUpDoneView.as_view(), name="signup_done"),
    path("signin/", views.SignInView.as_view(), name="signin"),
    path("signin/mfa/", views.SignInMfaView.as_view(), name="signin_mfa"),
    # Passkeys: each ceremony's options (JSON for static/js/passkeys.js), then
    # its answer, posted as a form.
    path(
        "signin/passkey/options/",
        passkeys.SignInOptionsView.as_view(),
        name="signin_passkey_options",
    ),
    path(
        "signin/passkey/", passkeys.PasskeySignInView.as_view(), name="signin_passkey"
    ),
    path(
        "signin/mfa/passkey/options/",
        passkeys.SecondFactorOptionsView.as_view(),
        name="signin_mfa_passkey_options",
    ),
    path(
        "signin/mfa/passkey/",
        passkeys.SecondFactorPasskeyView.as_view(),
        name="signin_mfa_passkey",
    ),
    path(
        "reauthenticate/passkey/options/",
        passkeys.ReauthenticateOptionsView.as_view(),
        name="reauthenticate_passkey_options",
    ),
    path(
        "reauthenticate/passkey/",
        passkeys.ReauthenticatePasskeyView.as_view(),
        name="reauthenticate_passkey",
    ),
    path("signin/code/", views.SignInCodeView.as_view(), name="signin_code"),
    path("reauthenticate/", views.ReauthenticateView.as_view(), name="reauthenticate"),
    path("signout/", views.SignOutView.as_view(), name="signout"),
    path(
        "password/forgot/", views.ForgotPasswordView.as_view(), name="forgot_password"
    ),
    path(
        "password/forgot/done/",
        views.ForgotPasswordDoneView.as_view(),
        name="forgot_password_done",
    ),
    # Emailed links are built with reverse("accounts:reset_password", ...).
    path(
        "password/reset/<uidb64>/<token>/",
        views.ResetPasswordView.as_view(),
        name="reset_password",
    ),
    path(
        "password/change/", views.ChangePasswordView.as_view(), name="change_password"
    ),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("delete/", views.DeleteAccountView.as_view(), name="delete_account"),
    # Emailed links are built with reverse("accounts:confirm_email_change", ...).
    path(
        "email/confirm/<str:token>/",
        views.ConfirmEmailChangeView.as_view(),
        name="confirm_email_change",
    ),
    path(
        "email/cancel/<str:token>/",
        views.CancelEmailChangeView.as_view(),
        name="cancel_email_change",
    ),
    path(
        "email/withdraw/",
        views.WithdrawEmailChangeView.as_view(),
        name="withdraw_email_change",
    ),
    # Before the link pattern below, which would otherwise swallow "resend/done/".
    path(
        "verify-email/resend/",
        views.ResendVerificationView.as_view(),
        name="resend_verification",
    ),
    path(
        "verify-email/resend/done/",
        views.ResendVerificationDoneView.as_view(),
        name="resend_verification_done",
    ),
    # Emailed links are built with reverse("accounts:verify_email", ...).
    path(
        "verify-email/<uidb64>/<token>/",
        views.VerifyEmailView.as_view(),
        name="verify_email",
    ),
    path("security/", views.SecurityView.as_view(), name="security"),
    path("security/export/", views.ExportDataView.as_view(), name="export_data"),
    path("mfa/enrol-code/", views.SendEnrolCodeView.as_view(), name="mfa_enrol_code"),
    # Emailed links are built with reverse("accounts:factor_reset", ...).
    path(
        "mfa/reset/<str:token>/", views.FactorResetView.as_view(), name="factor_reset"
    ),
    path(
        "security/sessions/<uuid:session_id>/revoke/",
        views.RevokeSessionView.as_view(),
        name="revoke_session",
    ),
    path(
        "security/browsers/<uuid:browser_session_id>/revoke/",
        views.RevokeBrowserSessionView.as_view(),
        name="revoke_browser_session",
    ),
    path(
        "security/sign-out-everywhere-else/",
        views.SignOutEverywhereElseView.as_view(),
        name="sign_out_everywhere_else",
    ),
    path(
        "security/sign-out-everywhere/",
        views.SignOutEverywhereView.as_view(),
        name="sign_out_everywhere",
    ),
    path("mfa/", views.MfaView.as_view(), name="mfa"),
    path("mfa/totp/setup/", views.TotpSetupView.as_view(), name="totp_setup"),
    path("mfa/totp/confirm/", views.TotpConfirmView.as_view(), name="totp_confirm"),
    path("mfa/totp/disable/", views.TotpDisableView.as_view(), name="totp_disable"),
    path(
        "mfa/passkeys/options/",
        passkeys.RegisterOptionsView.as_view(),
        name="passkey_options",
    ),
    path("mfa/passkeys/", passkeys.AddPasskeyView.as_view(), name="passkey_add"),
    path(
        "mfa/passkeys/<uuid:passkey_id>/rename/",
        passkeys.RenamePasskeyView.as_view(),
        name="passkey_rename",
    ),
    path(
        "mfa/passkeys/<uuid:passkey_id>/remove/",
        passkeys.RemovePasskeyView.as_view(),
        name="passkey_remove",
    ),
    path(
        "mfa/recovery-codes/",
        views.RecoveryCodesView.as_view(),
        name="recovery_codes",
    ),
]
