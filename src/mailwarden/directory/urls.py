from django.urls import path

from mailwarden.directory import views

app_name = "directory"

urlpatterns = [
    path("recipients/", views.recipients, name="recipients"),
    path("recipients/import/", views.recipients_import, name="recipients_import"),
    path("recipients/add/", views.recipient_add, name="recipient_add"),
    path("recipients/<int:recipient_id>/", views.recipient_detail, name="recipient"),
    path("recipients/<int:recipient_id>/edit/", views.recipient_edit, name="recipient_edit"),
    path(
        "recipients/<int:recipient_id>/deactivate/",
        views.recipient_deactivate,
        name="recipient_deactivate",
    ),
    path(
        "recipients/<int:recipient_id>/reactivate/",
        views.recipient_reactivate,
        name="recipient_reactivate",
    ),
    path("sites/", views.sites, name="sites"),
    path("sites/<slug:code>/", views.site_detail, name="site"),
    path("sites/<slug:code>/edit/", views.site_edit, name="site_edit"),
    path("sites/<slug:code>/locations/", views.location_add, name="location_add"),
]
