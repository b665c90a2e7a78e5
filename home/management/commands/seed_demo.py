"""Build a believable association site to explore: pages, menu, news, a form, staff.

Safe to run again: it finds what it made before (by slug or e-mail) and leaves it be.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.images import ImageFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image as PILImage
from PIL import ImageDraw
from wagtail.images import get_image_model
from wagtail.models import Page, Site

from guildhall.accounts.otp import RECOVERY_DEVICE_NAME, base32_secret
from home.demo_pages import child_page_ensure
from home.models import (
    FormField,
    FormPage,
    HomePage,
    NewsIndexPage,
    NewsPage,
    SiteSettings,
    StandardPage,
)

DEMO_PASSWORD = "guildhall-demo-2026"  # noqa: S105 - printed for the demo on purpose
# A fixed TOTP key for the demo accounts so the printed setup key stays valid.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"
STAFF = [
    ("admin@guildhall.example", "Ada", "Admin", "Administrators", True),
    ("editor@guildhall.example", "Edda", "Editor", "Editors", False),
    ("officer@guildhall.example", "Oskar", "Officer", "Membership officers", False),
]

NEWS = [
    (
        "annual-meeting-2026",
        "Annual general meeting on 12 March",
        "All members are welcome to the annual general meeting. The board presents the "
        "annual report and accounts, and we elect a new board.",
        5,
    ),
    (
        "new-member-benefits",
        "New member benefits from January",
        "Members now get reduced prices on courses and conferences, and free access to the "
        "members' library.",
        21,
    ),
    (
        "spring-course-programme",
        "Spring course programme published",
        "Twelve evening courses and three weekend seminars across the country. Registration "
        "opens on 1 February.",
        40,
    ),
    (
        "local-chapters-meet",
        "Local chapters meet in Trondheim",
        "Chapter leaders from all regions met to share ideas on recruitment and on keeping "
        "members active.",
        70,
    ),
]


def paragraph(html: str) -> dict:
    return {"type": "paragraph", "value": html}


class Command(BaseCommand):
    help = "Create demo content and staff accounts (safe to run more than once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--members",
            type=int,
            default=None,
            metavar="N",
            help=(
                "Also fill the member register with N persons, their memberships, "
                "organisations and employments (bulk inserts; 500,000 take minutes "
                "on PostgreSQL). Run again to top up to N; nothing is duplicated."
            ),
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="Random seed for --members (the same seed makes the same register).",
        )
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="With --members: skip the history rows of the seeded records.",
        )

    def handle(self, *args, **options):
        with transaction.atomic():
            images = self._images()
            home = self._home(images)
            self._pages(home, images)
            self._join(home)
            self._settings(home, images)
            codes = self._staff()
        members = options.get("members")
        if members is not None:
            self._register(members, options)
        self._app_demos(home)  # after the register: they may draw on its persons
        self._print_instructions(codes)

    # --- the member register ---------------------------------------------------------
    def _register(self, members: int, options) -> None:
        from django.core.management.base import CommandError

        from members.demo import DEFAULT_SEED, seed_register

        if members < 0:
            raise CommandError("--members must be 0 or more.")
        self.stdout.write(f"Filling the member register up to {members} persons…")
        report = seed_register(
            members,
            seed=DEFAULT_SEED if options.get("seed") is None else options["seed"],
            history=not options.get("no_history"),
            progress=self.stdout.write if options.get("verbosity", 1) > 1 else None,
        )
        self.stdout.write(report.summary())
        from members.demo import seed_billing_demo

        made = seed_billing_demo()
        if any(made.values()):
            self.stdout.write(
                "Demo billing: {paid} paid, {open} open, {overdue} overdue and "
                "{credited} credited orders.".format(**made)
            )

    # --- images ----------------------------------------------------------------------
    def _images(self) -> dict:
        Image = get_image_model()
        made = {}
        specs = {
            "logo": ((240, 240), "#1d4e89", "#f2b233"),
            "hero": ((1600, 700), "#183b66", "#2f6db3"),
            "meeting": ((1200, 675), "#2f6db3", "#f2b233"),
            "course": ((1200, 675), "#3d7a4f", "#d9e7d0"),
        }
        for name, (size, start, end) in specs.items():
            title = f"Demo {name}"
            image = Image.objects.filter(title=title).first()
            if image is None:
                image = Image(title=title)
                image.file = ImageFile(
                    io.BytesIO(self._png(size, start, end, name == "logo")),
                    name=f"demo-{name}.png",
                )
                image.save()
            made[name] = image
        return made

    @staticmethod
    def _png(size, start, end, is_logo) -> bytes:
        width, height = size
        img = PILImage.new("RGB", size, start)
        draw = ImageDraw.Draw(img)
        s = tuple(int(start[i : i + 2], 16) for i in (1, 3, 5))
        e = tuple(int(end[i : i + 2], 16) for i in (1, 3, 5))
        for y in range(height):
            t = y / max(height - 1, 1)
            draw.line(
                [(0, y), (width, y)],
                fill=tuple(int(s[c] + (e[c] - s[c]) * t) for c in range(3)),
            )
        if is_logo:
            draw.ellipse([20, 20, width - 20, height - 20], outline="#ffffff", width=14)
            draw.rectangle(
                [width // 2 - 12, 60, width // 2 + 12, height - 60], fill="#ffffff"
            )
        buffer = io.BytesIO()
        img.save(buffer, "PNG")
        return buffer.getvalue()

    # --- pages -----------------------------------------------------------------------
    def _home(self, images) -> HomePage:
        home = HomePage.objects.first()
        if home is not None:
            return home
        root = Page.get_first_root_node()
        # Wagtail's own welcome page (a plain Page) makes way for ours; its Site goes
        # with it and is made again below.
        for welcome in root.get_children().filter(slug="home"):
            if welcome.specific_class is Page and not welcome.get_children().exists():
                welcome.delete()
        home = HomePage(
            title="Nordic Guild of Makers",
            slug="home",
            hero_title="Makers, together since 1921",
            hero_text=(
                "The Nordic Guild of Makers brings together 4,000 craftspeople, "
                "workshops and apprentices in 28 local chapters."
            ),
            hero_image=images["hero"],
            hero_cta_label="Become a member",
            body=[
                paragraph(
                    "<p>We share knowledge across generations, stand up for good "
                    "working conditions and keep traditional crafts alive. Members get "
                    "courses, insurance, legal advice and a network across the country.</p>"
                )
            ],
        )
        root.add_child(instance=home)
        home.save_revision().publish()
        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            Site.objects.create(
                hostname="localhost",
                port=80,
                root_page=home,
                is_default_site=True,
                site_name="Nordic Guild of Makers",
            )
        else:
            site.root_page = home
            site.save()
        return home

    def _pages(self, home, images) -> None:
        about = child_page_ensure(
            home,
            StandardPage,
            "about",
            title="About us",
            show_in_menus=True,
            intro="A national association for craftspeople, founded in 1921.",
            body=[
                {"type": "heading", "value": {"text": "What we do", "level": "h2"}},
                paragraph(
                    "<p>We run courses and apprenticeships, negotiate agreements on behalf "
                    "of our members and speak for the crafts in public debate.</p>"
                ),
                {
                    "type": "quote",
                    "value": {
                        "quote": "The guild gave me a network I could never have built alone.",
                        "attribution": "Kari, furniture maker and member since 2009",
                    },
                },
                {
                    "type": "image",
                    "value": {
                        "image": {
                            "image": images["meeting"].pk,
                            "alt_text": "Members at the annual meeting",
                            "decorative": False,
                        },
                        "caption": "The annual meeting in Bergen, 2025.",
                    },
                },
            ],
        )
        child_page_ensure(
            about,
            StandardPage,
            "board",
            title="Board and statutes",
            intro="The board is elected by the annual general meeting for two years.",
            body=[paragraph("<p>Chair: Ingrid Solberg. Deputy chair: Jonas Berg.</p>")],
        )
        membership = child_page_ensure(
            home,
            StandardPage,
            "membership",
            title="Membership",
            show_in_menus=True,
            intro="Join thousands of makers across the Nordic countries.",
            body=[
                paragraph(
                    "<ul><li>Courses and seminars at member prices</li>"
                    "<li>Legal advice and insurance</li>"
                    "<li>The members' magazine, four times a year</li></ul>"
                ),
            ],
        )
        news_index = child_page_ensure(
            home,
            NewsIndexPage,
            "news",
            title="News",
            show_in_menus=True,
            intro="<p>What is happening in the guild.</p>",
        )
        today = timezone.localdate()
        for slug, title, intro, days_ago in NEWS:
            child_page_ensure(
                news_index,
                NewsPage,
                slug,
                title=title,
                intro=intro,
                date=today - timedelta(days=days_ago),
                image=images["meeting"] if days_ago < 30 else images["course"],
                body=[
                    paragraph(
                        f"<p>{intro}</p><p>More details follow in the members' area.</p>"
                    )
                ],
            )
        contact = FormPage.objects.child_of(home).filter(slug="contact").first()
        if contact is None:
            contact = FormPage(
                slug="contact",
                title="Contact us",
                show_in_menus=True,
                intro="<p>Questions about membership, courses or anything else? Write to us.</p>",
                thank_you_text="<p>Thank you for your message. We answer within two working days.</p>",
                to_address="post@guildhall.example",
                from_address="no-reply@guildhall.example",
                subject="New inquiry from the website",
            )
            contact.form_fields = [
                FormField(
                    sort_order=0,
                    label="Your name",
                    field_type="singleline",
                    required=True,
                ),
                FormField(
                    sort_order=1, label="E-mail", field_type="email", required=True
                ),
                FormField(
                    sort_order=2,
                    label="Subject",
                    field_type="dropdown",
                    required=True,
                    choices="Membership\nCourses\nInvoices\nSomething else",
                ),
                FormField(
                    sort_order=3, label="Message", field_type="multiline", required=True
                ),
            ]
            home.add_child(instance=contact)
            contact.save_revision().publish()
        if not home.hero_cta_page_id:
            home.hero_cta_page = membership
            home.save_revision().publish()
        # A call to action on the home page pointing to the contact form.
        if not any(block.block_type == "call_to_action" for block in home.body):
            home.body.append(
                (
                    "call_to_action",
                    {
                        "title": "Questions about joining?",
                        "text": "Our membership office answers within two working days.",
                        "button_label": "Contact us",
                        "page": contact,
                        "url": "",
                    },
                )
            )
            home.save_revision().publish()

    def _join(self, home) -> None:
        """The join page, and a members-only page its new members land on."""
        from django.contrib.auth.models import Group
        from wagtail.models import PageViewRestriction

        from members.demo import ensure_membership_types
        from members.models import JoinConsent, JoinPage

        group, _created = Group.objects.get_or_create(name="Members")
        for mtype in ensure_membership_types().values():
            mtype.groups.add(group)
        for_members = child_page_ensure(
            home,
            StandardPage,
            "for-members",
            title="For members",
            show_in_menus=True,
            intro="Agreements, member prices and news for members only.",
            body=[
                paragraph(
                    "<p>Welcome! Here you find the collective agreements, the price "
                    "list for courses at member prices and the minutes of the board.</p>"
                )
            ],
        )
        if not PageViewRestriction.objects.filter(page=for_members).exists():
            restriction = PageViewRestriction.objects.create(
                page=for_members, restriction_type=PageViewRestriction.GROUPS
            )
            restriction.groups.add(group)
        if JoinPage.objects.child_of(home).filter(slug="join").exists():
            return
        join = JoinPage(
            slug="join",
            title="Join us",
            show_in_menus=True,
            intro="<p>Become a member today: pay by card, Vipps or invoice.</p>",
            thank_you="<p>Thank you for joining!</p>",
            members_page=for_members,
        )
        join.consents = [
            JoinConsent(
                text="I accept the statutes and the privacy policy.", required=True
            ),
            JoinConsent(text="Send me the members' newsletter.", required=False),
        ]
        home.add_child(instance=join)
        join.save_revision().publish()

    def _app_demos(self, home) -> None:
        """Demo content of apps that build on home (the extranet's members' area).

        ``home`` must not depend on them, so it names none: every installed app whose
        ``demo`` module has a ``seed_demo(home=...)`` is called, in INSTALLED_APPS
        order. Unlike a lazy ``from extranet.demo import ...``, this keeps the arrow
        pointing one way and lets any later app add its demo the same way.
        """
        from importlib import import_module

        from django.apps import apps
        from django.utils.module_loading import module_has_submodule

        for config in apps.get_app_configs():
            if not module_has_submodule(config.module, "demo"):
                continue
            seed = getattr(import_module(f"{config.name}.demo"), "seed_demo", None)
            if callable(seed):
                with transaction.atomic():
                    seed(home=home)

    def _settings(self, home, images) -> None:
        site = Site.objects.get(root_page=home)
        settings = SiteSettings.for_site(site)
        if settings.name == "Guildhall":
            settings.name = "Nordic Guild of Makers"
            settings.tagline = "Makers, together since 1921"
            settings.logo = images["logo"]
            settings.email = "post@guildhall.example"
            settings.phone = "+47 22 00 00 00"
            settings.visiting_address = "Håndverkergata 1\n0150 Oslo"
            settings.postal_address = "Postboks 1921 Sentrum\n0101 Oslo"
            settings.organisation_number = "NO 974 760 673"
            settings.footer_text = (
                "An association for craftspeople, workshops and apprentices."
            )
            about = Page.objects.get(slug="about")
            contact = Page.objects.get(slug="contact")
            settings.footer_links = json.dumps(
                [
                    {
                        "type": "link",
                        "value": {"label": "About us", "page": about.pk, "url": ""},
                    },
                    {
                        "type": "link",
                        "value": {"label": "Contact", "page": contact.pk, "url": ""},
                    },
                ]
            )
            settings.social_links = json.dumps(
                [
                    {
                        "type": "social",
                        "value": {
                            "network": "facebook",
                            "url": "https://www.facebook.com/",
                        },
                    },
                    {
                        "type": "social",
                        "value": {
                            "network": "instagram",
                            "url": "https://www.instagram.com/",
                        },
                    },
                ]
            )
            settings.save()

    # --- staff -----------------------------------------------------------------------
    def _staff(self) -> dict[str, str]:
        User = get_user_model()
        codes = {}
        for email, first, last, group_name, superuser in STAFF:
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email,
                    password=DEMO_PASSWORD,
                    first_name=first,
                    last_name=last,
                    is_staff=True,
                    is_superuser=superuser,
                )
            group = Group.objects.filter(name=group_name).first()
            if group is not None:
                user.groups.add(group)
            if not superuser and group is None:
                user.user_permissions.add(
                    Permission.objects.get(codename="access_admin")
                )
            TOTPDevice.objects.get_or_create(
                user=user,
                name="Demo authenticator",
                defaults={"key": DEMO_TOTP_KEY, "confirmed": True},
            )
            device, _ = StaticDevice.objects.get_or_create(
                user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
            )
            token = device.token_set.order_by("pk").first()
            if token is None:
                token = StaticToken.objects.create(
                    device=device, token=StaticToken.random_token()
                )
            codes[email] = token.token
        return codes

    def _print_instructions(self, codes) -> None:
        device = TOTPDevice(key=DEMO_TOTP_KEY)
        out = self.stdout
        out.write(self.style.SUCCESS("Demo content is ready."))
        out.write("")
        out.write("Public site:  http://127.0.0.1:8000/")
        out.write("Staff admin:  http://127.0.0.1:8000/admin/")
        out.write(f"Password for every demo staff account: {DEMO_PASSWORD}")
        out.write(
            "Second factor: type a recovery code below (each works once), or add this"
        )
        out.write(
            f"key to an authenticator app (TOTP, 6 digits, 30 s): {base32_secret(device)}"
        )
        for email, *_ in STAFF:
            out.write(f"  {email:<30} recovery code: {codes[email]}")
