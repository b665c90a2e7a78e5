from celery import shared_task


@shared_task(name="members.tasks.memberships_lapse")
def memberships_lapse() -> int:
    """Nightly: end memberships past their grace period and take their access away."""
    from .services import memberships_lapse as lapse

    return lapse()
