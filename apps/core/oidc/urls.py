from __future__ import annotations

from django.urls import path

from apps.core.oidc import views

# The names are mozilla-django-oidc's: it reverses the callback's to build the redirect URI.
urlpatterns = [
    path("authenticate/", views.Start.as_view(), name="oidc_authentication_init"),
    path("callback/", views.Callback.as_view(), name="oidc_authentication_callback"),
]
