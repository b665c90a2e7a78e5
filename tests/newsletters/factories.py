"""Factories for newsletter lists."""

import factory

from newsletters.models import Channel, NewsletterList


class NewsletterListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NewsletterList

    name = factory.Sequence(lambda n: f"Newsletter {n}")
    description = "News from the association."
    channel = Channel.EMAIL
    self_service = True
    is_active = True
