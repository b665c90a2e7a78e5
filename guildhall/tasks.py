"""Project-wide background jobs."""

from celery import shared_task
from django.core import mail
from django.core.management import call_command


@shared_task(
    name="guildhall.tasks.send_email",
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def send_email(
    *,
    subject: str,
    body: str,
    to: list[str],
    reply_to: list[str] | None = None,
    from_email: str | None = None,
) -> int:
    """Send one plain-text e-mail; retried a bounded number of times if the server fails."""
    message = mail.EmailMessage(
        subject=subject,
        body=body,
        to=to,
        reply_to=reply_to or None,
        from_email=from_email,
    )
    return message.send()


@shared_task(name="guildhall.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Delete expired sessions from the database; safe to run as often as wanted."""
    call_command("clearsessions")
