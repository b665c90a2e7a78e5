from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from guildhall.accounts.otp import second_factor_reset


class Command(BaseCommand):
    help = "Remove a user's authenticator and recovery codes (lost phone); they enrol again."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        try:
            user = get_user_model().objects.get_by_natural_key(email)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user with the e-mail address {email}.") from exc
        second_factor_reset(user=user)
        self.stdout.write(
            f"{user.email} will enrol a new second factor at next sign-in."
        )
