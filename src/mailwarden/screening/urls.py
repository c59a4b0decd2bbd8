from django.urls import path

from mailwarden.screening import views

app_name = "screening"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("items/<str:uid>/", views.workstation, name="workstation"),
    path("items/<str:uid>/decide/", views.decide, name="decide"),
    path("items/<str:uid>/confirm/", views.confirm, name="confirm"),
    path("items/<str:uid>/scans/", views.upload_scan, name="upload_scan"),
    path("items/<str:uid>/scans/<int:scan_id>/shown.png", views.shown_image, name="shown_image"),
    path("quarantine/", views.quarantine, name="quarantine"),
    path("quarantine/<str:uid>/propose/", views.propose, name="propose"),
    path(
        "quarantine/requests/<int:request_id>/confirm/",
        views.confirm_outcome,
        name="confirm_outcome",
    ),
    path("policy/", views.policy, name="policy"),
]
