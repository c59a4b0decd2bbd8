from django.urls import path

from mailwarden.core import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("mfa/setup/", views.mfa_setup, name="mfa_setup"),
    path("mfa/verify/", views.mfa_verify, name="mfa_verify"),
    path("settings/security/", views.security_policy, name="security_policy"),
    path("search/", views.search, name="search"),
    path("people/", views.people, name="people"),
    path("people/<str:username>/", views.person, name="person"),
    path("people/<str:username>/<slug:action>/", views.person_action, name="person_action"),
    path("settings/tokens/", views.api_tokens, name="api_tokens"),
    path("settings/tokens/<str:prefix>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
