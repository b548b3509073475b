"""The send-email task, run by the django-tasks database worker."""

import logging

from django_tasks import task

from accounts import emails

logger = logging.getLogger(__name__)


@task()
def send_account_email(notification: str, user_id: str, extra: dict) -> str:
    message = emails.build(notification, user_id, extra)
    if message is None:
        return "skipped"
    message.send()
    return "sent"
