"""Bank OCR giro files: read them, book each payment once, queue what needs a clerk.

Nets sends the payee an OCR giro file of the payments made with KID. Each payment
("transaction") is booked on the invoice with that KID (``bank_file_import``); what
cannot be booked in full (no such KID, too little, too much, already paid) waits in
the accounts clerk's queue until ``bank_transaction_resolve``. ``import_inbox`` imports
the files the bank drops into ``settings.GUILDHALL_OCR_INBOX``.

**Which reference identifies a transaction.** The Nets OCR giro manual numbers
assignments per payee agreement (the 9-digit agreement id on the assignment start
record; the assignment number runs on per agreement) and transactions per assignment.
So agreement id + assignment number + transaction number names one payment however
many times, and in whichever transmission, Nets delivers it; the transmission number
does not (a re-sent assignment comes in a new transmission). That triple is
``BankTransaction.reference`` (``"<agreement>-<assignment>-<transaction>"``, with the
payee account in place of the agreement id should an assignment lack it).

**Where things are.** ``parsing`` reads and checks a file (``parse_ocr``,
``BankFileError`` with the line at fault); ``booking`` books it
(``bank_file_import``, ``ImportResult``, one outcome per transaction) and works the
clerk's queue (``bank_transaction_resolve``); ``inbox`` imports the bank's drop
folder (``import_inbox``, ``InboxEntry``). Settling the orders a file pays is
``billing.orders_settle_many``. Import from ``shop.bankfiles``, which names the
public API below.
"""

from .booking import (
    CHUNK,
    AlreadyImported,
    ImportResult,
    Outcome,
    bank_file_import,
    bank_transaction_resolve,
)
from .inbox import UNFINISHED_SUFFIXES, InboxEntry, import_inbox
from .parsing import BankFileError, ParsedFile, ParsedRecord, decode, parse_ocr

__all__ = [
    "CHUNK",
    "UNFINISHED_SUFFIXES",
    "AlreadyImported",
    "BankFileError",
    "ImportResult",
    "InboxEntry",
    "Outcome",
    "ParsedFile",
    "ParsedRecord",
    "bank_file_import",
    "bank_transaction_resolve",
    "decode",
    "import_inbox",
    "parse_ocr",
]
