"""My Account, communication: the form of one's answers per channel and lists.

Only the lists offered to the person (``newsletters.selectors.lists_offered_to``)
are choices; any other list id in a request is refused with a message, and the
service refuses it again, so a forged request changes nothing.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from newsletters.models import Channel
from newsletters.selectors import Preferences

YES = "yes"
NO = "no"


def _to_bool(value: str) -> bool:
    return value == YES


class CommunicationForm(forms.Form):
    """A yes/no per channel (left unanswered: unchanged) and a checkbox per list."""

    lists = forms.TypedMultipleChoiceField(
        label=_("Newsletters"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": _(
                "You cannot choose one of these lists here. Reload the page and "
                "try again."
            ),
        },
    )

    def __init__(self, *args, preferences: Preferences, **kwargs):
        initial = {
            channel: (None if allowed is None else (YES if allowed else NO))
            for channel, allowed in preferences.consents.items()
        }
        initial["lists"] = [
            str(choice.newsletter.pk)
            for choice in preferences.lists
            if choice.subscribed
        ]
        super().__init__(*args, initial=initial, **kwargs)
        self.preferences = preferences
        channel_fields = {}
        for channel, label in Channel.choices:
            channel_fields[channel] = forms.TypedChoiceField(
                label=label,
                choices=[(YES, _("Yes")), (NO, _("No"))],
                coerce=_to_bool,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
                error_messages={
                    "invalid_choice": _("Choose yes or no."),
                },
            )
        # The channels first, in the order of ``Channel``.
        self.fields = {**channel_fields, "lists": self.fields["lists"]}
        self.fields["lists"].choices = [
            (str(choice.newsletter.pk), choice.newsletter.name)
            for choice in preferences.lists
        ]

    def consents(self) -> dict[str, bool | None]:
        return {channel: self.cleaned_data.get(channel) for channel in Channel.values}

    def subscriptions(self) -> dict[int, bool]:
        chosen = set(self.cleaned_data.get("lists") or [])
        return {
            choice.newsletter.pk: choice.newsletter.pk in chosen
            for choice in self.preferences.lists
        }

    def channel_fields(self):
        return [self[channel] for channel in Channel.values]

    def chosen_list_ids(self) -> set[str]:
        """The lists ticked as the form shows them (submitted or stored)."""
        value = self["lists"].value() or []
        return {str(item) for item in value}
