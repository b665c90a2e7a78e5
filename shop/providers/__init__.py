"""Payment providers. Importing this package registers the built-in ones."""

from . import invoice, sandbox, stripe_checkout, vipps  # noqa: F401
from .base import (
    PaymentDeclined,
    PaymentProvider,
    ProviderError,
    RedirectRequired,
    all_providers,
    enabled_providers,
    get_provider,
    register,
)

__all__ = [
    "PaymentDeclined",
    "PaymentProvider",
    "ProviderError",
    "RedirectRequired",
    "all_providers",
    "enabled_providers",
    "get_provider",
    "register",
]
