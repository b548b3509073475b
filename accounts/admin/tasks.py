"""The queued-email part of the staff admin: django_tasks_db's task list, plus an
action that retries failed emails.

A message the worker gave up on (SMTP down past EMAIL_RETRY_WINDOW, recipient
refused) ends as a FAILED row; staff fix the cause, then retry it from here.
"""

import inspect

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.db import transaction
from django_tasks import TaskResultStatus
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from accounts.tasks import send_account_email

RETRIED_AS = "retried_as"
# Attempt bookkeeping starts again: a retry from the admin gets a full window.
FRESH_ATTEMPT = ("attempt", "first_attempt_at")

if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskResultAdmin(DBTaskResultAdmin):
    list_display = (*DBTaskResultAdmin.list_display, "notification", "retried_as")
    actions = ["retry_failed_emails"]

    @admin.display(description="email")
    def notification(self, obj: DBTaskResult) -> str:
        if obj.task_path != send_account_email.module_path:
            return "-"
        return _call_arguments(obj).get("notification", "-")

    @admin.display(description="retried as")
    def retried_as(self, obj: DBTaskResult) -> str:
        value = obj.return_value
        return value.get(RETRIED_AS, "-") if isinstance(value, dict) else "-"

    def has_retry_permission(self, request) -> bool:
        # django_tasks_db's admin is read-only (has_change_permission is False), so
        # the permission is checked directly: resending mail is a change.
        codename = get_permission_codename("change", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    @admin.action(description="Retry selected failed emails", permissions=["retry"])
    def retry_failed_emails(self, request, queryset) -> None:
        retried = 0
        with transaction.atomic():
            # Locked and marked in the same transaction as the new task, so two
            # clicks (or two staff members) never send the same email twice.
            failed = queryset.select_for_update().filter(
                status=TaskResultStatus.FAILED,
                task_path=send_account_email.module_path,
            )
            for row in failed.order_by("enqueued_at"):
                arguments = _call_arguments(row)
                if not arguments or self.retried_as(row) != "-":
                    continue
                for name in FRESH_ATTEMPT:
                    arguments.pop(name, None)
                result = send_account_email.enqueue(**arguments)
                row.return_value = {RETRIED_AS: str(result.id)}
                row.save(update_fields=["return_value"])
                retried += 1
        skipped = len(queryset) - retried
        if retried:
            self.message_user(request, f"Queued {retried} email(s) again.")
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped} row(s): not a failed email, or already retried.",
                messages.WARNING,
            )


def _call_arguments(row: DBTaskResult) -> dict:
    """The task's arguments by name, however they were passed when enqueued."""
    args_kwargs = row.args_kwargs or {}
    try:
        bound = inspect.signature(send_account_email.func).bind(
            *args_kwargs.get("args", []), **args_kwargs.get("kwargs", {})
        )
    except TypeError:
        return {}
    return dict(bound.arguments)
