"""The commerce core's data: orders and their lines, invoices and credit notes, payment
attempts and refunds, every event from a gateway or a bank, and gifts.

``shop`` knows nothing of memberships or events: an order's customer and each line's
item are generic references to rows other apps own, and ``shop.signals`` announces
when an order is paid, cancelled or refunded so that the owner of a line can act.
"""

from .invoices import (
    Invoice,
    InvoiceComment,
    InvoiceLine,
    InvoiceNumberCounter,
    InvoiceSeries,
    Reminder,
    ReminderStep,
)
from .orders import Order, OrderLine, OrderStatusChange
from .payments import (
    BankImport,
    BankTransaction,
    GatewayEvent,
    Gift,
    Payment,
    Refund,
)
from .settings import BillingSettings

__all__ = [
    "BankImport",
    "BankTransaction",
    "BillingSettings",
    "GatewayEvent",
    "Gift",
    "Invoice",
    "InvoiceComment",
    "InvoiceLine",
    "InvoiceNumberCounter",
    "InvoiceSeries",
    "Order",
    "OrderLine",
    "OrderStatusChange",
    "Payment",
    "Refund",
    "Reminder",
    "ReminderStep",
]
