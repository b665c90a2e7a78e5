"""A believable member register of any size, for demos and benchmarks.

``seed_register(members=N)`` makes a national association's register: a chapter tree
(national → regions → local chapters), membership types with fees, N persons with
Norwegian names, e-mail addresses, phone numbers, addresses and birth dates, about one
membership each (mostly active, some ended over the years, a few awaiting payment),
organisations with valid organisation numbers, their memberships and employees.

It writes in batches of a few thousand rows (``COPY`` on PostgreSQL, ``bulk_create``
elsewhere; see ``Writer``), so 500,000 members take minutes rather than hours, and it
is deterministic for a given seed. Records it made carry ``extra["_demo"]``; running it
again tops the register up to N seeded persons and never duplicates. A run is one
transaction: an interrupted run leaves the register as it was.

History: the persons, organisations, memberships and employments get one "created"
history row each (the rows simple-history's ``bulk_history_create`` makes, written the
same fast way), so a seeded record's history tab looks like any other and an edited
address can be restored; ``history=False`` skips them for an even faster load. Every e-mail address is under the reserved
``.example`` top-level domain, so a demo can never mail a real person.
"""

from __future__ import annotations

import random
import time
import unicodedata
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from guildhall.bulk import column_getter, copy_rows, objects_insert

from .models import (
    Chapter,
    Employment,
    FunctionClassification,
    Membership,
    MembershipStatusChange,
    MembershipType,
    Organisation,
    Person,
)
from .search import SEARCH_ROWS

#: The key in ``extra`` that marks a record as made by this module.
DEMO_KEY = "_demo"
DEFAULT_SEED = 1921
HISTORY_REASON = "Demo data"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- Names -----------------------------------------------------------------------------
# Common Norwegian given names and surnames, most common first; weights fall off with
# the rank, as real name frequencies do.

FIRST_NAMES = _words(
    """
    Anne Inger Kari Marit Ingrid Liv Eva Berit Astrid Bjørg Hilde Anna Solveig
    Marianne Randi Ida Nina Maria Elisabeth Kristin Bente Heidi Silje Hanne Gerd
    Linda Tone Tove Elin Anita Wenche Gunn Camilla Ragnhild Grete Nora Emma Sofie
    Ingeborg Sara Thea Maja Julie Marte Siri Ane Kristine Karin Turid Sigrid Åse
    Mona Lene Trine Cecilie Monica Stine Mari Emilie Hege Line Vilde Oda Frida
    Aurora Tuva Hedda Ella Mia Synnøve Signe Torill Unni Vigdis Oddny Jorunn Gunhild
    Margrethe Jan Per Bjørn Ole Lars Kjell Knut Svein Arne Thomas Hans Geir Tor
    Morten Terje Odd Martin Erik Andreas John Anders Rune Trond Tore Jon Harald Olav
    Gunnar Stian Daniel Espen Kristian Magnus Jonas Fredrik Øyvind Rolf Leif Einar
    Nils Tom Jørgen Ivar Eirik Sindre Henrik Håkon Sander Emil Mathias Kristoffer
    Petter Vegard Sigurd Steinar Dag Kåre Helge Frode Halvor Aksel Filip Johannes
    Elias Jakob Noah Oskar Isak Ludvig Tobias Sverre Torbjørn Asbjørn Ketil Audun
    Eivind Ahmed Mohammed Ali Fatima Aisha Piotr Anna-Karin Ole-Martin Per-Erik Tuan
    Linh
    """
)

LAST_NAMES = _words(
    """
    Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen
    Johnsen Pettersen Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl
    Jørgensen Halvorsen Henriksen Lund Sørensen Jakobsen Moen Gundersen Iversen
    Strand Solberg Svendsen Eide Knutsen Martinsen Paulsen Bakken Kristoffersen
    Mathisen Lie Amundsen Nguyen Rasmussen Ali Lunde Solheim Berge Moe Nygård Bakke
    Kristensen Fredriksen Holm Lien Hauge Christensen Andresen Nielsen Knudsen
    Evensen Sæther Aas Myhre Hanssen Ahmed Haugland Thomassen Sivertsen Simonsen
    Danielsen Berntsen Sandvik Rønning Arnesen Antonsen Næss Vik Haug Ellingsen
    Thorsen Edvardsen Birkeland Isaksen Gulbrandsen Ruud Aasen Strøm Myklebust
    Tangen Ødegård Eliassen Helland Bøe Jenssen Aune Mikkelsen Tveit Brekke
    Abrahamsen Madsen Kvalheim Fjeld Østby Engen Nordby Grande Hovland Sletten
    Rustad Ness Lindberg Wold Foss Dale Ueland Mo Tollefsen Karlsson Nordmann
    Kowalski Nowak Hussain Khan Tran Søberg Holmen Vold Langeland Bjerke Hegge
    """
)

STREETS = (
    "Storgata",
    "Kirkegata",
    "Skoleveien",
    "Parkveien",
    "Fjordgata",
    "Bjørkeveien",
    "Granveien",
    "Solbakken",
    "Industriveien",
    "Strandveien",
    "Nygata",
    "Jernbanegata",
    "Kongens gate",
    "Dronningens gate",
    "Bakkeveien",
    "Furuveien",
    "Eikeveien",
    "Sjøgata",
    "Lindeveien",
    "Åsveien",
    "Haugeveien",
    "Smedgata",
    "Møllebakken",
    "Elvegata",
)

MAIL_DOMAINS = (
    ("gmail.example", 38),
    ("online.example", 12),
    ("hotmail.example", 12),
    ("outlook.example", 9),
    ("icloud.example", 7),
    ("live.example", 5),
    ("yahoo.example", 4),
    ("epost.example", 4),
    ("altibox.example", 5),
    ("telenor.example", 4),
)

CRAFTS = _words(
    """
    Snekkeri Trearbeid Smie Keramikk Glass Møbel Tømrer Maling Murer Sølvsmie
    Skomaker Veveri Bokbinderi Design Interiør Restaurering Bygg Håndverk
    """
)
ORGANISATION_PREFIXES = _words(
    """
    Nordlys Fjord Vestlandet Trøndelag Kyst Fjell Elve Skog Viking Polar Midnatt
    Bryggen Sørlandet Østlandet Innlandet Nordvest Havbris Lysne Furu Bjørk
    """
)
ORGANISATION_FORMS = ("AS", "AS", "AS", "ANS", "SA", "DA")

FUNCTIONS = (
    ("Daglig leder", "Director"),
    ("Styreleder", "Board member"),
    ("Styremedlem", "Board member"),
    ("HR-sjef", "HR"),
    ("Økonomisjef", "Finance"),
    ("Regnskapsfører", "Finance"),
    ("Mester", "Craftsperson"),
    ("Svenn", "Craftsperson"),
    ("Lærling", "Apprentice"),
    ("Prosjektleder", "Employee"),
    ("Selger", "Employee"),
)

# --- Chapters ----------------------------------------------------------------------------
# Regions, each with five local chapters: (name, code, postcode range, weight).

REGIONS: tuple[tuple[str, str, tuple[tuple[str, str, int, int, int], ...]], ...] = (
    (
        "Oslo",
        "oslo",
        (
            ("Oslo sentrum", "Oslo", 150, 199, 9),
            ("Grünerløkka", "Oslo", 550, 590, 8),
            ("Frogner", "Oslo", 250, 290, 7),
            ("Groruddalen", "Oslo", 950, 990, 7),
            ("Nordstrand", "Oslo", 1150, 1190, 5),
        ),
    ),
    (
        "Akershus",
        "akershus",
        (
            ("Bærum", "Sandvika", 1300, 1369, 7),
            ("Asker", "Asker", 1370, 1399, 5),
            ("Lillestrøm", "Lillestrøm", 2000, 2019, 5),
            ("Follo", "Ski", 1400, 1419, 4),
            ("Romerike", "Jessheim", 2050, 2069, 4),
        ),
    ),
    (
        "Østfold",
        "ostfold",
        (
            ("Fredrikstad", "Fredrikstad", 1600, 1639, 4),
            ("Sarpsborg", "Sarpsborg", 1700, 1739, 3),
            ("Moss", "Moss", 1500, 1539, 3),
            ("Halden", "Halden", 1760, 1789, 2),
            ("Indre Østfold", "Askim", 1800, 1819, 2),
        ),
    ),
    (
        "Innlandet",
        "innlandet",
        (
            ("Hamar", "Hamar", 2300, 2329, 3),
            ("Lillehammer", "Lillehammer", 2600, 2629, 3),
            ("Gjøvik", "Gjøvik", 2800, 2829, 2),
            ("Elverum", "Elverum", 2400, 2419, 2),
            ("Kongsvinger", "Kongsvinger", 2200, 2229, 2),
        ),
    ),
    (
        "Vestfold og Telemark",
        "vestfold-telemark",
        (
            ("Tønsberg", "Tønsberg", 3100, 3129, 3),
            ("Sandefjord", "Sandefjord", 3200, 3239, 3),
            ("Larvik", "Larvik", 3250, 3279, 2),
            ("Skien", "Skien", 3700, 3739, 3),
            ("Porsgrunn", "Porsgrunn", 3900, 3939, 2),
        ),
    ),
    (
        "Agder",
        "agder",
        (
            ("Kristiansand", "Kristiansand", 4600, 4639, 5),
            ("Arendal", "Arendal", 4800, 4849, 3),
            ("Grimstad", "Grimstad", 4876, 4889, 2),
            ("Lindesnes", "Mandal", 4500, 4519, 1),
            ("Lister", "Flekkefjord", 4400, 4409, 1),
        ),
    ),
    (
        "Rogaland",
        "rogaland",
        (
            ("Stavanger", "Stavanger", 4000, 4049, 6),
            ("Sandnes", "Sandnes", 4300, 4329, 4),
            ("Haugesund", "Haugesund", 5500, 5539, 3),
            ("Jæren", "Bryne", 4340, 4349, 2),
            ("Dalane", "Egersund", 4370, 4379, 1),
        ),
    ),
    (
        "Vestland",
        "vestland",
        (
            ("Bergen", "Bergen", 5003, 5099, 9),
            ("Bjørnafjorden", "Os", 5200, 5209, 2),
            ("Askøy", "Kleppestø", 5300, 5309, 2),
            ("Voss", "Voss", 5700, 5709, 1),
            ("Sunnfjord", "Førde", 6800, 6809, 2),
        ),
    ),
    (
        "Møre og Romsdal",
        "more-romsdal",
        (
            ("Ålesund", "Ålesund", 6000, 6029, 4),
            ("Molde", "Molde", 6400, 6419, 2),
            ("Kristiansund", "Kristiansund", 6500, 6519, 2),
            ("Ørsta og Volda", "Ørsta", 6150, 6159, 1),
            ("Sunndal", "Sunndalsøra", 6600, 6609, 1),
        ),
    ),
    (
        "Trøndelag",
        "trondelag",
        (
            ("Trondheim", "Trondheim", 7010, 7099, 8),
            ("Steinkjer", "Steinkjer", 7700, 7729, 2),
            ("Stjørdal", "Stjørdal", 7500, 7509, 2),
            ("Levanger", "Levanger", 7600, 7609, 2),
            ("Orkland", "Orkanger", 7300, 7309, 1),
        ),
    ),
    (
        "Nord-Norge",
        "nord-norge",
        (
            ("Bodø", "Bodø", 8000, 8049, 3),
            ("Tromsø", "Tromsø", 9006, 9049, 4),
            ("Narvik", "Narvik", 8500, 8519, 1),
            ("Alta", "Alta", 9500, 9519, 1),
            ("Rana", "Mo i Rana", 8600, 8629, 1),
        ),
    ),
)

NATIONAL_CODE = "no"

# --- Membership types ----------------------------------------------------------------------
# name -> (kind, period, fee, grace days, weight among persons' memberships)

MEMBERSHIP_TYPES: dict[str, tuple[str, str, str, int, int]] = {
    "Individual": ("individual", "calendar_year", "690.00", 30, 700),
    "Student": ("individual", "calendar_year", "250.00", 30, 90),
    "Senior": ("individual", "calendar_year", "450.00", 30, 110),
    "Apprentice": ("individual", "rolling_year", "150.00", 14, 60),
    "Lifetime": ("individual", "lifetime", "15000.00", 0, 15),
    "Honorary member": ("individual", "lifetime", "0.00", 0, 3),
    "Organisation": ("organisation", "calendar_year", "4900.00", 60, 0),
    "Employee of a member organisation": ("employee", "calendar_year", "0.00", 30, 0),
    "Branch": ("branch", "calendar_year", "1500.00", 60, 0),
}


@dataclass
class SeedReport:
    """What one run made, and how long it took."""

    persons_created: int = 0
    persons_seeded: int = 0
    organisations_created: int = 0
    memberships_created: int = 0
    employments_created: int = 0
    status_changes_created: int = 0
    history_rows: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"Register: {self.persons_seeded} seeded persons "
            f"(+{self.persons_created} persons, +{self.organisations_created} "
            f"organisations, +{self.memberships_created} memberships, "
            f"+{self.employments_created} employments, "
            f"+{self.status_changes_created} status changes, "
            f"+{self.history_rows} history rows) in {self.seconds:.1f} s"
        )


def ascii_fold(text: str) -> str:
    """ "Søren Ødegård" -> "soren odegard", as people write names in e-mail addresses."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if c.isascii() and (c.isalnum() or c in " -"))


def _rank_weights(count: int, flatten: int) -> list[float]:
    """Zipf-like weights: the first is the most common."""
    return [1.0 / (rank + flatten) for rank in range(1, count + 1)]


def _cumulative(weights) -> list[float]:
    total, running = 0.0, []
    for weight in weights:
        total += weight
        running.append(total)
    return running


_FIRST_CUM = _cumulative(_rank_weights(len(FIRST_NAMES), 12))
_LAST_CUM = _cumulative(_rank_weights(len(LAST_NAMES), 8))
_DOMAINS = [domain for domain, _weight in MAIL_DOMAINS]
_DOMAIN_CUM = _cumulative(weight for _domain, weight in MAIL_DOMAINS)


def norwegian_orgnr(index: int) -> str:
    """A valid, distinct Norwegian organisation number (mod 11) for each index."""
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    base = 91_000_000 + index * 7
    while True:
        digits = [int(d) for d in str(base)]
        remainder = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
        check = 0 if remainder == 0 else 11 - remainder
        if check != 10:
            return f"{base}{check}"
        base += 1  # never reaches the next index's base: its step is 7


def _aware(day: date, hour: int = 10) -> datetime:
    return datetime(
        day.year, day.month, day.day, hour, tzinfo=timezone.get_current_timezone()
    )


# --- Reference data --------------------------------------------------------------------------


def ensure_chapters() -> list[tuple[Chapter, str, int, int, int]]:
    """The chapter tree; returns the local chapters as (chapter, city, lo, hi, weight)."""
    national = Chapter.objects.filter(code=NATIONAL_CODE).first()
    if national is None:
        national = Chapter.add_root(
            name="Nordic Guild of Makers",
            level=Chapter.Level.NATIONAL,
            code=NATIONAL_CODE,
        )
    locals_ = []
    for region_name, region_code, local_chapters in REGIONS:
        code = f"{NATIONAL_CODE}-{region_code}"
        region = Chapter.objects.filter(code=code).first()
        if region is None:
            national.refresh_from_db()
            region = national.add_child(
                name=region_name, level=Chapter.Level.REGIONAL, code=code
            )
        for name, city, low, high, weight in local_chapters:
            local_code = f"{code}-{ascii_fold(name).replace(' ', '-')}"
            local = Chapter.objects.filter(code=local_code).first()
            if local is None:
                region.refresh_from_db()
                local = region.add_child(
                    name=name, level=Chapter.Level.LOCAL, code=local_code
                )
            locals_.append((local, city, low, high, weight))
    return locals_


def ensure_membership_types() -> dict[str, MembershipType]:
    types = {}
    for name, (kind, period, fee, grace, _weight) in MEMBERSHIP_TYPES.items():
        types[name], _created = MembershipType.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "period": period,
                "fee": Decimal(fee),
                "grace_days": grace,
                "requires_approval": name in ("Lifetime", "Honorary member"),
                "is_public": name not in ("Honorary member", "Branch"),
            },
        )
    return types


def ensure_function_classifications() -> dict[str, FunctionClassification]:
    return {
        name: FunctionClassification.objects.get_or_create(name=name)[0]
        for name in sorted({classification for _title, classification in FUNCTIONS})
    }


# --- The generator ------------------------------------------------------------------------


class RegisterGenerator:
    """Makes unsaved persons, memberships and the like; all randomness comes from one
    ``random.Random`` per batch, seeded from the run's seed and the batch's start."""

    def __init__(self, *, seed, today, locals_, types, classifications):
        self.seed = seed
        self.today = today
        self.locals = locals_
        self.local_cum = _cumulative(weight for *_rest, weight in locals_)
        self.types = types
        person_types = [
            (types[name], spec[4]) for name, spec in MEMBERSHIP_TYPES.items() if spec[4]
        ]
        self.person_types = [t for t, _w in person_types]
        self.person_type_cum = _cumulative(w for _t, w in person_types)
        self.classifications = classifications

    def rng(self, salt: str, start: int) -> random.Random:
        # Demo data, not secrets: a seeded, reproducible generator is what we want.
        return random.Random(f"{self.seed}:{salt}:{start}")  # noqa: S311

    # Dates -------------------------------------------------------------------------------
    def period_end_covering(self, mtype: MembershipType, start: date) -> date | None:
        """The end of the current period of an active membership that began on start."""
        if mtype.period == MembershipType.Period.LIFETIME:
            return None
        if mtype.period == MembershipType.Period.CALENDAR_YEAR:
            return date(self.today.year, 12, 31)
        end = mtype.period_end(start)
        while end < self.today:
            end = mtype.period_end(end + timedelta(days=1))
        return end

    def join_date(self, rng: random.Random, birth: date) -> date:
        """Most members joined in recent years; some have been members for decades."""
        years = min(rng.expovariate(1 / 7), 40)
        joined = self.today - timedelta(days=int(years * 365.25) + 1)
        adult = birth + timedelta(days=16 * 366)
        return max(joined, min(adult, self.today - timedelta(days=1)))

    # Persons -----------------------------------------------------------------------------
    def persons(self, start: int, count: int, first_number: int) -> list[Person]:
        rng = self.rng("person", start)
        choices = rng.choices
        today = self.today
        persons = []
        for offset in range(count):
            index = start + offset
            first = choices(FIRST_NAMES, cum_weights=_FIRST_CUM)[0]
            last = choices(LAST_NAMES, cum_weights=_LAST_CUM)[0]
            if rng.random() < 0.04:
                last = f"{choices(LAST_NAMES, cum_weights=_LAST_CUM)[0]}-{last}"
            local, city, low, high, _weight = choices(
                self.locals, cum_weights=self.local_cum
            )[0]
            birth = today - timedelta(days=rng.randint(17 * 365, 92 * 365))
            email = self.email(rng, first, last, birth, index)
            has_number = rng.random() < 0.97
            persons.append(
                Person(
                    first_name=first,
                    last_name=last,
                    email=email,
                    email_secondary=(
                        f"{ascii_fold(first).replace(' ', '')}{index}@jobb.example"
                        if rng.random() < 0.05
                        else ""
                    ),
                    phone=(
                        f"+47 {rng.randint(21000000, 79999999)}"
                        if rng.random() < 0.1
                        else ""
                    ),
                    phone_mobile=(
                        f"+47 {rng.choice('49')}{rng.randint(1000000, 9999999)}"
                        if rng.random() < 0.85
                        else ""
                    ),
                    postal_street=f"{rng.choice(STREETS)} {rng.randint(1, 140)}",
                    postal_postcode=f"{rng.randint(low, high):04d}",
                    postal_city=city,
                    postal_country="NO",
                    chapter=local,
                    birth_date=birth,
                    preferred_language="en" if rng.random() < 0.08 else "nb",
                    member_number=first_number + offset if has_number else None,
                    extra={DEMO_KEY: self.seed},
                )
            )
        return persons

    @staticmethod
    def email(rng: random.Random, first: str, last: str, birth: date, index) -> str:
        given = ascii_fold(first).replace(" ", "")
        family = ascii_fold(last).replace(" ", "")
        domain = rng.choices(_DOMAINS, cum_weights=_DOMAIN_CUM)[0]
        style = rng.random()
        if style < 0.45:
            local = f"{given}.{family}"
        elif style < 0.65:
            local = f"{given}{family}{birth.year % 100:02d}"
        elif style < 0.8:
            local = f"{given[:1]}{family}"
        elif style < 0.9:
            local = f"{given}.{family}.{rng.randint(2, 99)}"
        else:
            local = f"{given}{rng.randint(1, 9999)}"
        # Unique without looking: the index in base 36 when the plain name is taken
        # often in a big register.
        if rng.random() < 0.5:
            local = f"{local}.{_base36(index)}"
        return f"{local}@{domain}"

    # Memberships -------------------------------------------------------------------------
    def memberships(self, persons: list[Person], start: int) -> list[Membership]:
        """About one membership each; some persons also have an earlier, ended one."""
        rng = self.rng("membership", start)
        today = self.today
        made = []
        for person in persons:
            if person.member_number is None:
                status = rng.choices(
                    ("applied", "pending_payment", "cancelled", "rejected"),
                    weights=(30, 50, 15, 5),
                )[0]
            else:
                roll = rng.random()
                status = "active" if roll < 0.82 else "ended"
            mtype = rng.choices(self.person_types, cum_weights=self.person_type_cum)[0]
            age_days = (today - person.birth_date).days
            if mtype.name == "Student" and age_days > 30 * 365:
                mtype = self.types["Individual"]
            if mtype.name == "Senior" and age_days < 67 * 365:
                mtype = self.types["Individual"]
            chapter = person.chapter
            if rng.random() < 0.08:
                chapter = self.locals[rng.randrange(len(self.locals))][0]
            if status == "active":
                begun = self.join_date(rng, person.birth_date)
                membership = Membership(
                    person=person,
                    type=mtype,
                    chapter=chapter,
                    start=begun,
                    end=self.period_end_covering(mtype, begun),
                    status=status,
                )
                if rng.random() < 0.06 and (today - begun).days > 3 * 365:
                    made.append(self.earlier(rng, person, chapter, begun))
            elif status == "ended":
                begun = self.join_date(rng, person.birth_date)
                if begun.year >= today.year:
                    begun = begun.replace(year=today.year - 1)
                reason = rng.choices(
                    ("lapsed", "resigned", "deceased", "expelled"),
                    weights=(70, 24, 5, 1),
                )[0]
                if reason == "lapsed" or mtype.period == "lifetime":
                    end = date(rng.randint(begun.year, today.year - 1), 12, 31)
                else:
                    end = begun + timedelta(
                        days=rng.randint(0, max((today - begun).days - 1, 0))
                    )
                membership = Membership(
                    person=person,
                    type=mtype,
                    chapter=chapter,
                    start=begun,
                    end=end,
                    status=status,
                    end_reason=reason,
                )
            else:
                begun = today - timedelta(days=rng.randint(0, 60))
                membership = Membership(
                    person=person,
                    type=mtype,
                    chapter=chapter,
                    start=begun,
                    status=status,
                )
            made.append(membership)
        return made

    def earlier(self, rng, person, chapter, before: date) -> Membership:
        """An earlier membership that ended when the current one began."""
        end = before - timedelta(days=1)
        begun = end - timedelta(days=rng.randint(365, 6 * 365))
        return Membership(
            person=person,
            type=self.types["Student"],
            chapter=chapter,
            start=begun,
            end=end,
            status="ended",
            end_reason="other",
        )

    @staticmethod
    def status_changes(memberships: list[Membership]) -> list[MembershipStatusChange]:
        """The path each membership took to its status, as the register recorded it."""
        changes = []
        for m in memberships:
            imported = "Imported from the previous register"
            if m.status in ("active", "ended"):
                changes.append(
                    MembershipStatusChange(
                        membership=m,
                        from_status="",
                        to_status="active",
                        changed_at=_aware(m.start),
                        note=imported,
                    )
                )
                if m.status == "ended":
                    changes.append(
                        MembershipStatusChange(
                            membership=m,
                            from_status="active",
                            to_status="ended",
                            changed_at=_aware(m.end, 23),
                            note=m.get_end_reason_display(),
                        )
                    )
            else:
                changes.append(
                    MembershipStatusChange(
                        membership=m,
                        from_status="",
                        to_status="applied",
                        changed_at=_aware(m.start),
                    )
                )
                if m.status != "applied":
                    changes.append(
                        MembershipStatusChange(
                            membership=m,
                            from_status="applied",
                            to_status=m.status,
                            changed_at=_aware(m.start, 14),
                        )
                    )
        return changes

    # Organisations and employments ------------------------------------------------------
    def organisations(self, start: int, count: int) -> list[Organisation]:
        rng = self.rng("organisation", start)
        made = []
        for offset in range(count):
            index = start + offset
            local, city, low, high, _weight = rng.choices(
                self.locals, cum_weights=self.local_cum
            )[0]
            if rng.random() < 0.5:
                owner = rng.choices(LAST_NAMES, cum_weights=_LAST_CUM)[0]
                name = f"{owner} {rng.choice(CRAFTS)}"
            else:
                name = f"{rng.choice(ORGANISATION_PREFIXES)} {rng.choice(CRAFTS)}"
            name = f"{name} {rng.choice(ORGANISATION_FORMS)}"
            slug = ascii_fold(name).replace(" ", "")[:24]
            made.append(
                Organisation(
                    name=name,
                    organisation_number=norwegian_orgnr(index),
                    country="NO",
                    email=f"post@{slug}{_base36(index)}.example",
                    phone=f"+47 {rng.randint(20000000, 79999999)}",
                    website=f"https://www.{slug}{_base36(index)}.example/",
                    postal_street=f"{rng.choice(STREETS)} {rng.randint(1, 80)}",
                    postal_postcode=f"{rng.randint(low, high):04d}",
                    postal_city=city,
                    postal_country="NO",
                    chapter=local,
                    extra={DEMO_KEY: self.seed},
                )
            )
        return made

    def organisation_memberships(self, organisations, start: int) -> list[Membership]:
        rng = self.rng("organisation-membership", start)
        mtype = self.types["Organisation"]
        made = []
        for organisation in organisations:
            if rng.random() >= 0.4:
                continue
            begun = self.today - timedelta(days=rng.randint(30, 25 * 365))
            made.append(
                Membership(
                    organisation=organisation,
                    type=mtype,
                    chapter=organisation.chapter,
                    start=begun,
                    end=self.period_end_covering(mtype, begun),
                    status="active",
                )
            )
        return made

    def employments(self, persons, organisation_ids, start: int) -> list[Employment]:
        """About one person in twenty works at an organisation in the register."""
        if not organisation_ids:
            return []
        rng = self.rng("employment", start)
        made = []
        for person in persons:
            if rng.random() >= 0.05:
                continue
            title, classification = rng.choice(FUNCTIONS)
            begun = self.today - timedelta(days=rng.randint(30, 20 * 365))
            ended = None
            if rng.random() < 0.2:
                ended = begun + timedelta(
                    days=rng.randint(0, (self.today - begun).days)
                )
            made.append(
                Employment(
                    person=person,
                    organisation_id=rng.choice(organisation_ids),
                    function_title=title,
                    function_classification=self.classifications[classification],
                    start=begun,
                    end=ended,
                    is_contact=title == "Daglig leder",
                )
            )
        return made


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


# --- Writing -------------------------------------------------------------------------------


def seeded_persons():
    return Person.objects.filter(extra__has_key=DEMO_KEY)


def seeded_organisations():
    return Organisation.objects.filter(extra__has_key=DEMO_KEY)


class Writer:
    """Inserts unsaved model instances in bulk, with a "created" history row each.

    On PostgreSQL it streams rows with ``COPY`` (primary keys taken from the table's
    sequence first, so dependants can point at them), which is several times faster
    than ``bulk_create``'s INSERT for hundreds of thousands of rows; elsewhere it uses
    ``bulk_create`` and simple-history's ``bulk_history_create``. Both fill every
    concrete field from the instance, so the rows are the same either way.
    """

    def __init__(self, *, history: bool, when: datetime, batch_size: int):
        self.history = history
        self.when = when
        self.batch_size = batch_size
        self.copy = connection.vendor == "postgresql"
        self.history_rows = 0

    def insert(self, model, objs: list) -> list:
        if not objs:
            return objs
        if self.copy:
            objects_insert(model, objs, when=self.when)
        else:
            objs = model.objects.bulk_create(objs, batch_size=self.batch_size)
        if self.history and hasattr(model, "history"):
            self._insert_history(model, objs)
        return objs

    def _insert_history(self, model, objs: list) -> None:
        manager = model.history
        if not self.copy:
            manager.bulk_history_create(
                objs,
                batch_size=self.batch_size,
                default_change_reason=HISTORY_REASON,
                default_date=self.when,
            )
            self.history_rows += len(objs)
            return
        history_model = manager.model
        tracked = [field.attname for field in history_model.tracked_fields]
        columns = {f.attname: f.column for f in history_model._meta.concrete_fields}
        json_fields = {
            field.attname
            for field in history_model.tracked_fields
            if field.get_internal_type() == "JSONField"
        }
        getters = [
            column_getter(field)
            if field.attname in json_fields
            else (lambda obj, name=field.attname: getattr(obj, name))
            for field in history_model.tracked_fields
        ]
        fixed = [self.when, HISTORY_REASON, "+", None]
        with connection.cursor() as cursor:
            copy_rows(
                cursor,
                history_model._meta.db_table,
                [columns[name] for name in tracked]
                + [
                    columns["history_date"],
                    columns["history_change_reason"],
                    columns["history_type"],
                    columns["history_user_id"],
                ],
                ([get(obj) for get in getters] + fixed for obj in objs),
            )
        self.history_rows += len(objs)


@contextmanager
def _search_indexes_rebuilt_after(enabled: bool):
    """On PostgreSQL, for a big load: drop the trigram search indexes of persons (and
    their search rows) and organisations first and build them again at the end.

    Building a GIN index once over all rows is many times faster than updating it row
    by row, and gives a far smaller index. It runs inside the seeding transaction, so
    a failed or interrupted run rolls the drop back with everything else; the
    definitions are read from the database, so they stay exactly the migrations'
    (the statistics targets of migration 0009 included, which ``indexdef`` leaves out).
    """
    if not enabled or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = ANY(%s) "
            "AND indexdef LIKE %s ORDER BY indexname",
            [
                [Person._meta.db_table, Organisation._meta.db_table, SEARCH_ROWS],
                "%gin_trgm_ops%",
            ],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, a.attnum, a.attstattarget FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = ANY(%s) AND a.attnum > 0 AND a.attstattarget > 0",
            [[name for name, _definition in indexes]],
        )
        statistics = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        # The search rows are filled once at the end rather than row by row.
        for table, trigger in SEARCH_ROWS_TRIGGERS:
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"')
    yield
    with connection.cursor() as cursor:
        # Django's foreign keys are checked at commit; an index cannot be built on a
        # table with checks pending, so run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in SEARCH_ROWS_TRIGGERS:
            cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"')
        cursor.execute("SELECT members_personsearch_refill()")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for name, column, target in statistics:
            cursor.execute(
                f'ALTER INDEX "{name}" ALTER COLUMN {int(column)} '
                f"SET STATISTICS {int(target)}"
            )
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


#: The row triggers that keep the search rows (migration 0017_person_search_rows).
SEARCH_ROWS_TRIGGERS = (
    ("members_person", "members_person_search_sync"),
    ("members_membership", "members_membership_search_sync"),
)

#: A load at least this big (and at least as big as the register already is) drops
#: the search indexes and builds them again afterwards.
REBUILD_INDEXES_FROM = 10_000


def seed_register(
    members: int,
    *,
    seed: int = DEFAULT_SEED,
    batch_size: int = 5000,
    history: bool = True,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Top the register up to ``members`` seeded persons (and their surroundings).

    All in one transaction: an interrupted run leaves the register as it was.
    """
    began = time.monotonic()
    report = SeedReport()
    say = progress or (lambda _message: None)
    with transaction.atomic():
        locals_ = ensure_chapters()
        types = ensure_membership_types()
        classifications = ensure_function_classifications()
        generator = RegisterGenerator(
            seed=seed,
            today=timezone.localdate(),
            locals_=locals_,
            types=types,
            classifications=classifications,
        )
        writer = Writer(history=history, when=timezone.now(), batch_size=batch_size)
        to_create = members - seeded_persons().count()
        rebuild = to_create >= max(REBUILD_INDEXES_FROM, Person.objects.count())
        with _search_indexes_rebuilt_after(rebuild):
            _seed_organisations(generator, writer, report, members, batch_size)
            _seed_persons(generator, writer, report, members, batch_size, began, say)
            if rebuild:
                say(
                    f"  rebuilding the search indexes ({time.monotonic() - began:.1f} s)"
                )
    if report.persons_created and connection.vendor == "postgresql":
        # Fresh statistics, including those of the indexed expressions, so the
        # planner sees how selective a search is.
        with connection.cursor() as cursor:
            for model in (Person, Organisation, Membership, Employment):
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')
            cursor.execute(f'ANALYZE "{SEARCH_ROWS}"')
    report.history_rows = writer.history_rows
    report.persons_seeded = seeded_persons().count()
    report.seconds = time.monotonic() - began
    return report


def _seed_organisations(generator, writer, report, members, batch_size) -> None:
    """One organisation per hundred members, some of them members themselves."""
    wanted = max(members // 100, 1) if members else 0
    for start in range(seeded_organisations().count(), wanted, batch_size):
        count = min(batch_size, wanted - start)
        organisations = writer.insert(
            Organisation, generator.organisations(start, count)
        )
        memberships = writer.insert(
            Membership, generator.organisation_memberships(organisations, start)
        )
        changes = writer.insert(
            MembershipStatusChange, generator.status_changes(memberships)
        )
        report.organisations_created += len(organisations)
        report.memberships_created += len(memberships)
        report.status_changes_created += len(changes)


def _seed_persons(generator, writer, report, members, batch_size, began, say):
    organisation_ids = list(seeded_organisations().values_list("pk", flat=True))
    have = seeded_persons().count()
    first_number = (Person.objects.aggregate(top=Max("member_number"))["top"] or 0) + 1
    for start in range(have, members, batch_size):
        count = min(batch_size, members - start)
        persons = generator.persons(start, count, first_number + (start - have))
        persons = writer.insert(Person, persons)
        memberships = writer.insert(Membership, generator.memberships(persons, start))
        changes = writer.insert(
            MembershipStatusChange, generator.status_changes(memberships)
        )
        employments = writer.insert(
            Employment, generator.employments(persons, organisation_ids, start)
        )
        report.persons_created += len(persons)
        report.memberships_created += len(memberships)
        report.status_changes_created += len(changes)
        report.employments_created += len(employments)
        say(
            f"  {start + count:>9,} persons "
            f"({time.monotonic() - began:5.1f} s)".replace(",", " ")
        )


def seed_billing_demo(count: int = 12) -> dict[str, int]:
    """A few demo orders and invoices for seeded persons (see ``shop.demo``), so the
    Billing back office shows paid, open, overdue and credited invoices."""
    from shop.demo import DemoCustomer, seed_billing

    persons = seeded_persons().exclude(email="").order_by("pk")[:count]
    return seed_billing(
        [
            DemoCustomer(
                name=person.full_name,
                email=person.email,
                address="\n".join(
                    part
                    for part in (
                        person.postal_street,
                        f"{person.postal_postcode} {person.postal_city}".strip(),
                    )
                    if part
                ),
                record=person,
            )
            for person in persons
        ]
    )
