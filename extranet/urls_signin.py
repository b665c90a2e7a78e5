from django.urls import path

from . import views_signin as views

urlpatterns = [
    path("sign-in/", views.SignInView.as_view(), name="signin"),
    path("sign-in/link/", views.SignInLinkView.as_view(), name="signin_link"),
    path(
        "sign-in/link/sent/",
        views.SignInLinkSentView.as_view(),
        name="signin_link_sent",
    ),
    path("sign-out/", views.SignOutView.as_view(), name="signout"),
    path(
        "sign-out/everywhere/",
        views.SignOutEverywhereView.as_view(),
        name="signout_everywhere",
    ),
    path(
        "password/reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
