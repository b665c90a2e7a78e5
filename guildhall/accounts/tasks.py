from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(name="guildhall.accounts.tasks.forget_old_access_attempts")
def forget_old_access_attempts(days: int = 90) -> int:
    """Delete sign-in attempt records older than ``days``; the lockout window is far shorter."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        deleted += model.objects.filter(attempt_time__lt=cutoff).delete()[0]
    return deleted
