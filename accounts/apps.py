from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib import admin
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in
        from django_tasks.signals import task_enqueued

        from accounts import checks  # noqa: F401  (registers the system checks)
        from accounts.observability.metrics import count_queued_email
        from accounts.web.forms import AdminSignInForm

        # accounts.services.sign_in owns last_login; Django's receiver would
        # write it a second time on every sign-in.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        # The admin signs staff in through services.sign_in too, so an inactive
        # or soft-deleted staff account is refused there as everywhere else.
        admin.site.login_form = AdminSignInForm
        # Staff change their own password through the same rule as everyone
        # (every other session and token revoked, notice emailed), not through
        # the admin's bare form.
        admin.site.password_change = _change_password_page
        # Emails are counted as they are queued, by whichever process queues them.
        task_enqueued.connect(count_queued_email, dispatch_uid="accounts.email_queued")
        # The admin's sign-in marks the browser like the pages' sign-in does.
        admin.site.login = _remembering_device(admin.site.login)


def _change_password_page(request, extra_context=None):
    from django.shortcuts import redirect

    return redirect("accounts:change_password")


def _remembering_device(login_view):
    from functools import wraps

    from accounts.http import remember_device

    @wraps(login_view)
    def login(request, extra_context=None):
        was_signed_in = request.user.is_authenticated
        response = login_view(request, extra_context)
        if (
            request.method == "POST"
            and not was_signed_in
            and request.user.is_authenticated
        ):
            remember_device(response, request.user)
        return response

    return login
