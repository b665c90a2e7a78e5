"""What ``shop`` announces. The app that owns an order line's item listens and acts
(``members`` activates a membership, ``events`` confirms a seat); ``shop`` itself
imports nothing from them.

Each is sent inside the transaction that changed the order, with ``order`` and ``by``
(the user who caused it, or None), so that the owner's change commits or fails with it.
"""

from django.dispatch import Signal

#: The order's confirmed payments minus refunds reached its total.
order_paid = Signal()
#: The order was cancelled before it was paid (e.g. its invoice was credited).
order_cancelled = Signal()
#: A paid order's money went back: refunded in full or credited after payment.
order_refunded = Signal()
#: An invoice was issued (``invoice``, ``by``).
invoice_issued = Signal()
