from django.conf import settings
from django.urls import include, path, re_path
from django.views.i18n import set_language
from django.views.static import serve
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from guildhall.accounts.signin_links import SignInLinkView
from home import views as home_views

urlpatterns = [
    path("admin/2fa/", include("guildhall.accounts.urls")),
    path("account/link/", SignInLinkView.as_view(), name="sesame-login"),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("search/", home_views.search, name="search"),
    path("shop/", include("shop.urls")),
    path("members/", include("members.urls")),
    path("account/", include("extranet.urls")),
    path("sitemap.xml", sitemap, name="sitemap"),
    path("robots.txt", home_views.robots_txt, name="robots_txt"),
    path("i18n/setlang/", set_language, name="set_language"),
]

if settings.GUILDHALL_SERVE_MEDIA:
    # The embedded default serves uploads itself; in production the proxy or the
    # shared storage serves them (docs/deployment.md). Never documents: they may be
    # members-only, and go through Wagtail's /documents/ view (collection privacy)
    # or an extranet page's download route (page privacy).
    urlpatterns += [
        re_path(
            rf"^{settings.MEDIA_URL.lstrip('/')}(?!documents/)(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

urlpatterns += [path("", include(wagtail_urls))]
