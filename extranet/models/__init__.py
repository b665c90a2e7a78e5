"""The gated page tree (``pages``) and the inquiry form (``inquiry_page``)."""

from .inquiry_page import InquiryFormField, InquiryPage
from .pages import (
    DocumentLibraryItem,
    DocumentLibraryPage,
    ExtranetIndexPage,
    ExtranetPage,
    GroupPage,
    GroupPageDocument,
)

__all__ = [
    "DocumentLibraryItem",
    "DocumentLibraryPage",
    "ExtranetIndexPage",
    "ExtranetPage",
    "GroupPage",
    "GroupPageDocument",
    "InquiryFormField",
    "InquiryPage",
]
