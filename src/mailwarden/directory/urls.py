from django.urls import path

from mailwarden.directory import views

app_name = "directory"

urlpatterns = [
    path("recipients/", views.recipients, name="recipients"),
    path("recipients/import/", views.recipients_import, name="recipients_import"),
    path("sites/", views.sites, name="sites"),
    path("sites/<slug:code>/", views.site_detail, name="site"),
    path("sites/<slug:code>/edit/", views.site_edit, name="site_edit"),
    path("sites/<slug:code>/locations/", views.location_add, name="location_add"),
]
