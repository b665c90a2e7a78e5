"""The Content Security Policy, per part of the site."""

from csp.middleware import CSPMiddleware, PolicyParts
from django.urls import reverse


class GuildhallCSPMiddleware(CSPMiddleware):
    """The strict policy from settings everywhere, loosened only where Wagtail needs it.

    Wagtail 8's admin still renders a few inline scripts (inline panels, date and time
    pickers), so admin pages also allow inline scripts. The public site allows scripts
    from this site only.
    """

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if request.path.startswith(reverse("wagtailadmin_home")):
            update = dict(parts.update or {})
            update["script-src"] = [*update.get("script-src", []), "'unsafe-inline'"]
            parts.update = update
        return parts
