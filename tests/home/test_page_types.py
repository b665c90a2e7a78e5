"""Which page types editors may create where, and creating one through the admin."""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from extranet.models import ExtranetIndexPage, GroupPage, InquiryPage
from home.models import FormPage, HomePage, NewsIndexPage, NewsPage, StandardPage
from members.models import JoinPage
from tests.factories import SuperUserFactory, make_site_root


class PageTypeRulesTests(WagtailPageTestCase):
    def test_home_page_sits_at_the_root_only(self):
        self.assertAllowedParentPageTypes(HomePage, {Page})
        self.assertCanCreateAt(Page, HomePage)
        self.assertCanNotCreateAt(StandardPage, HomePage)
        self.assertCanNotCreateAt(HomePage, HomePage)

    def test_home_page_children(self):
        self.assertAllowedSubpageTypes(
            HomePage,
            {
                StandardPage,
                NewsIndexPage,
                FormPage,
                JoinPage,
                ExtranetIndexPage,
                GroupPage,
                InquiryPage,
            },
        )

    def test_standard_pages_nest(self):
        self.assertAllowedParentPageTypes(StandardPage, {HomePage, StandardPage})
        self.assertAllowedSubpageTypes(
            StandardPage,
            {
                StandardPage,
                FormPage,
                NewsIndexPage,
                JoinPage,
                ExtranetIndexPage,
                GroupPage,
                InquiryPage,
            },
        )

    def test_the_join_page_lives_on_the_public_site(self):
        self.assertAllowedParentPageTypes(JoinPage, {HomePage, StandardPage})
        self.assertAllowedSubpageTypes(JoinPage, set())

    def test_news_lives_only_in_a_news_index(self):
        self.assertAllowedSubpageTypes(NewsIndexPage, {NewsPage})
        self.assertAllowedParentPageTypes(NewsPage, {NewsIndexPage})
        self.assertCanNotCreateAt(HomePage, NewsPage)
        self.assertCanNotCreateAt(StandardPage, NewsPage)

    def test_leaf_pages_have_no_children(self):
        self.assertAllowedSubpageTypes(NewsPage, set())
        self.assertAllowedSubpageTypes(FormPage, set())

    def test_form_pages_sit_under_home_or_standard_pages(self):
        self.assertAllowedParentPageTypes(FormPage, {HomePage, StandardPage})
        self.assertCanNotCreateAt(NewsIndexPage, FormPage)


class CreateInAdminTests(WagtailPageTestCase):
    """An editor (past the second factor) creates pages in the Wagtail admin."""

    def setUp(self):
        super().setUp()
        self.home = make_site_root(hero_title="Welcome")
        user = SuperUserFactory()
        device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
        self.client.force_login(user)
        session = self.client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    def test_create_a_standard_page_with_a_heading_and_text(self):
        data = nested_form_data(
            {
                "title": "About us",
                "intro": "Who we are.",
                "body": streamfield(
                    [
                        ("heading", {"text": "Our history", "level": "h2"}),
                        ("paragraph", rich_text("<p>Founded in 1921.</p>")),
                    ]
                ),
            }
        )

        self.assertCanCreate(self.home, StandardPage, data)

        page = StandardPage.objects.get(slug="about-us")
        assert page.live
        response = self.client.get(page.url)
        assert response.status_code == 200
        assert b"Our history" in response.content
        assert b"Founded in 1921." in response.content

    def test_create_a_news_index_under_the_home_page(self):
        data = nested_form_data({"title": "News", "intro": rich_text("<p>Latest.</p>")})

        self.assertCanCreate(self.home, NewsIndexPage, data)

        assert NewsIndexPage.objects.child_of(self.home).filter(slug="news").exists()
