from django.urls import path

from accounts.api import views

app_name = "api"

# The busiest requests first: Django tries the patterns in order.
urlpatterns = [
    path("users/me", views.MeApi.as_view(), name="me"),
    path("auth/token/refresh", views.RefreshApi.as_view(), name="token_refresh"),
    path("auth/signup", views.SignUpApi.as_view(), name="signup"),
    path("auth/signin", views.SignInApi.as_view(), name="signin"),
    path("auth/signin/mfa", views.SignInMfaApi.as_view(), name="signin_mfa"),
    path(
        "auth/signin/code/request",
        views.SignInCodeRequestApi.as_view(),
        name="signin_code_request",
    ),
    path("auth/signin/code", views.SignInCodeApi.as_view(), name="signin_code"),
    path(
        "auth/reauthenticate",
        views.ReauthenticateApi.as_view(),
        name="reauthenticate",
    ),
    path("auth/signout", views.SignOutApi.as_view(), name="signout"),
    path("auth/signout-all", views.SignOutAllApi.as_view(), name="signout_all"),
    path("auth/sessions", views.SessionListApi.as_view(), name="sessions"),
    path(
        "auth/sessions/<str:session_id>",
        views.SessionDetailApi.as_view(),
        name="session",
    ),
    path("auth/mfa/enrol-code", views.EnrolCodeApi.as_view(), name="mfa_enrol_code"),
    path(
        "auth/forgot-password",
        views.ForgotPasswordApi.as_view(),
        name="forgot_password",
    ),
    path(
        "auth/reset-password", views.ResetPasswordApi.as_view(), name="reset_password"
    ),
    path(
        "auth/change-password",
        views.ChangePasswordApi.as_view(),
        name="change_password",
    ),
    path("auth/verify-email", views.VerifyEmailApi.as_view(), name="verify_email"),
    path(
        "auth/verify-email/resend",
        views.ResendVerificationApi.as_view(),
        name="resend_verification",
    ),
    path("auth/mfa", views.MfaApi.as_view(), name="mfa"),
    path("auth/mfa/totp", views.TotpApi.as_view(), name="totp"),
    path("auth/mfa/totp/setup", views.TotpSetupApi.as_view(), name="totp_setup"),
    path("auth/mfa/totp/confirm", views.TotpConfirmApi.as_view(), name="totp_confirm"),
    path(
        "auth/mfa/recovery-codes",
        views.RecoveryCodesApi.as_view(),
        name="recovery_codes",
    ),
    path(
        "auth/webauthn/options",
        views.WebAuthnOptionsApi.as_view(),
        name="webauthn_options",
    ),
    path("auth/passkeys", views.PasskeyListApi.as_view(), name="passkeys"),
    path(
        "auth/passkeys/signin",
        views.PasskeySignInApi.as_view(),
        name="passkey_signin",
    ),
    path(
        "auth/passkeys/<str:passkey_id>",
        views.PasskeyDetailApi.as_view(),
        name="passkey",
    ),
    path("users/me/export", views.ExportApi.as_view(), name="export"),
    path(
        "users/me/email/confirm",
        views.ConfirmEmailChangeApi.as_view(),
        name="confirm_email_change",
    ),
    path(
        "users/me/email/cancel",
        views.CancelEmailChangeApi.as_view(),
        name="cancel_email_change",
    ),
    path(
        "users/me/email/pending", views.PendingEmailApi.as_view(), name="pending_email"
    ),
    path("health", views.HealthApi.as_view(), name="health"),
    path("health/ready", views.HealthReadyApi.as_view(), name="health_ready"),
]

urlpatterns += [
    path("users", views.UserListApi.as_view(), name="users"),
    path("users/<str:user_id>", views.UserDetailApi.as_view(), name="user"),
]
