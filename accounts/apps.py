from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here: these modules load models, which do not exist until
        # the app registry is ready (the reason Django has ready()).
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django_tasks.signals import task_enqueued

        from accounts import checks  # noqa: F401  (registers the system checks)
        from accounts.admin import site
        from accounts.observability.metrics import count_queued_email
        from accounts.request_assurance import end_browser_session_on_logout

        # accounts.services.sign_in owns last_login; Django's receiver would
        # write it a second time on every sign-in.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        # Staff sign in and change passwords on the admin through the services.
        site.configure()
        # Emails are counted as they are queued, by whichever process queues them.
        task_enqueued.connect(count_queued_email, dispatch_uid="accounts.email_queued")
        user_logged_out.connect(
            end_browser_session_on_logout, dispatch_uid="accounts.browser_signed_out"
        )
