from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib import admin

        from accounts import checks  # noqa: F401  (registers the system checks)
        from accounts.web.forms import AdminSignInForm

        # The admin signs staff in through services.sign_in too, so an inactive
        # or soft-deleted staff account is refused there as everywhere else.
        admin.site.login_form = AdminSignInForm
