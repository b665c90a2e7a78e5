from django.urls import include, path

app_name = "extranet"

urlpatterns = [
    path("", include("extranet.urls_signin")),
    path("my-account/", include("extranet.urls_account")),
]
