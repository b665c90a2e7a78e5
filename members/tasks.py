from celery import shared_task


@shared_task(name="members.tasks.memberships_lapse")
def memberships_lapse() -> int:
    """Nightly: end memberships past their grace period and take their access away."""
    from .services import memberships_lapse as lapse

    return lapse()


@shared_task(name="members.tasks.dues_run", acks_late=True)
def dues_run(run_id: int) -> int:
    """Do a queued dues run; returns how many memberships were invoiced."""
    from .dues import dues_run_execute

    return dues_run_execute(run_id=run_id).invoiced


@shared_task(name="members.tasks.dues_run_scheduled")
def dues_run_scheduled() -> int | None:
    """Nightly: start the dues run by itself if the renewal settings say so."""
    from .dues import dues_run_scheduled as start

    run = start()
    return run.pk if run else None


@shared_task(
    name="members.tasks.welcome_email",
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def welcome_email(application_id: int) -> bool:
    """The welcome e-mail of a new member, with a personal sign-in link."""
    from .applications import welcome_send

    return welcome_send(application_id=application_id)


@shared_task(name="members.tasks.renewal_receipt_email")
def renewal_receipt_email(renewal_id: int) -> bool:
    """The receipt for a paid renewal, thanking for any gift."""
    from .dues import renewal_receipt_send

    return renewal_receipt_send(renewal_id=renewal_id)
