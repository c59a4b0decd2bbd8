from django.urls import path

from mailwarden.directory import scim_views, views

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
    # SCIM 2.0 for identity providers (docs/directory-sync.md).
    path("scim/v2/Users", scim_views.users, name="scim_users"),
    path("scim/v2/Users/.search", scim_views.users_search, name="scim_users_search"),
    # Users are the only resource served, so a search from the root is a search of users.
    path("scim/v2/.search", scim_views.users_search, name="scim_search"),
    path("scim/v2/Users/<str:user_id>", scim_views.user, name="scim_user"),
    path(
        "scim/v2/ServiceProviderConfig",
        scim_views.service_provider_config,
        name="scim_service_provider_config",
    ),
    path("scim/v2/ResourceTypes", scim_views.resource_types, name="scim_resource_types"),
    path("scim/v2/ResourceTypes/<str:name>", scim_views.resource_type, name="scim_resource_type"),
    path("scim/v2/Schemas", scim_views.schemas, name="scim_schemas"),
    path("scim/v2/Schemas/<str:schema_id>", scim_views.schema, name="scim_schema"),
    path("scim/v2/<path:rest>", scim_views.unknown, name="scim_unknown"),
    path("sites/<slug:code>/", views.site_detail, name="site"),
    path("sites/<slug:code>/edit/", views.site_edit, name="site_edit"),
    path("sites/<slug:code>/retention/", views.site_retention, name="site_retention"),
    path("sites/<slug:code>/locations/", views.location_add, name="location_add"),
]
