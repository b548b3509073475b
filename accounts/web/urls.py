from django.urls import path

from accounts.web import views

app_name = "accounts"

urlpatterns = [
    path(
        "password/reset/<uidb64>/<token>/",
        views.ResetPasswordView.as_view(),
        name="reset_password",
    ),
    path(
        "verify-email/<uidb64>/<token>/",
        views.VerifyEmailView.as_view(),
        name="verify_email",
    ),
]
