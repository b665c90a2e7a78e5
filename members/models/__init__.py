"""The register: people and organisations (each stored once), chapters, memberships.

History is never overwritten: every change to a person, organisation, employment or
membership is kept by django-simple-history, and each status change of a membership is
its own row in ``MembershipStatusChange``. "Member since", "lapsed" and "new this half
year" are queries over these rows, not fields.
"""

from .change_requests import (
    ChangeRequest,
    ChangeRequestQuerySet,
    SelfServiceSettings,
)
from .inquiries import Inquiry, InquiryMessage
from .joining import (
    Application,
    DiscountRule,
    DuesRun,
    JoinConsent,
    JoinPage,
    MembershipPrice,
    Renewal,
    RenewalSettings,
    age_on,
)
from .memberships import (
    Membership,
    MembershipQuerySet,
    MembershipStatusChange,
    MembershipType,
)
from .register import (
    COUNTRY_CHOICES,
    Chapter,
    ChapterAdministrator,
    Employment,
    EmploymentQuerySet,
    ExtraField,
    FunctionClassification,
    Organisation,
    Person,
    RegisterEntry,
    RelationType,
    Tag,
)
from .relations import (
    ActionItem,
    Committee,
    CommitteeMembership,
    CommitteeMembershipQuerySet,
    ContactLogEntry,
    Selection,
)

__all__ = [
    "ActionItem",
    "Application",
    "DiscountRule",
    "DuesRun",
    "Inquiry",
    "InquiryMessage",
    "JoinConsent",
    "JoinPage",
    "MembershipPrice",
    "Renewal",
    "RenewalSettings",
    "age_on",
    "COUNTRY_CHOICES",
    "ChangeRequest",
    "ChangeRequestQuerySet",
    "Chapter",
    "ChapterAdministrator",
    "Committee",
    "CommitteeMembership",
    "CommitteeMembershipQuerySet",
    "ContactLogEntry",
    "Employment",
    "EmploymentQuerySet",
    "ExtraField",
    "FunctionClassification",
    "Membership",
    "MembershipQuerySet",
    "MembershipStatusChange",
    "MembershipType",
    "Organisation",
    "Person",
    "RegisterEntry",
    "RelationType",
    "Selection",
    "SelfServiceSettings",
    "Tag",
]
