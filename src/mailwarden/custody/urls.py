from django.urls import path

from mailwarden.custody import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("intake/", views.intake, name="intake"),
    path("intake/detect/", views.intake_detect, name="intake_detect"),
    path("intake/recipients/", views.intake_recipients, name="intake_recipients"),
    path("intake/decode/", views.intake_decode, name="intake_decode"),
    path("intake/expected/", views.intake_expected, name="intake_expected"),
    path("expected/", views.expected, name="expected"),
    path("items/", views.items, name="items"),
    path("items/export.csv", views.items_export, {"fmt": "csv"}, name="items_export_csv"),
    path("items/export.xlsx", views.items_export, {"fmt": "xlsx"}, name="items_export_xlsx"),
    path("items/bulk/", views.items_bulk, name="items_bulk"),
    path("items/<str:uid>/", views.item_detail, name="item_detail"),
    path("items/<str:uid>/transition/", views.item_transition, name="item_transition"),
    path("items/<str:uid>/move/", views.item_move, name="item_move"),
    path("items/<str:uid>/review/clear/", views.item_clear_review, name="item_clear_review"),
    path("items/<str:uid>/legal-hold/", views.item_legal_hold, name="item_legal_hold"),
    path("items/<str:uid>/photo/", views.item_photo, name="item_photo"),
    path("items/<str:uid>/signature/<str:digest>/", views.item_signature, name="item_signature"),
    path("items/<str:uid>/label.png", views.item_label, {"fmt": "png"}, name="item_label_png"),
    path("items/<str:uid>/label.pdf", views.item_label, {"fmt": "pdf"}, name="item_label_pdf"),
    path(
        "items/<str:uid>/custody.json",
        views.item_custody,
        {"fmt": "json"},
        name="item_custody_json",
    ),
    path(
        "items/<str:uid>/custody.pdf", views.item_custody, {"fmt": "pdf"}, name="item_custody_pdf"
    ),
    path("pickup/", views.pickup_scan, name="pickup"),
    path("pickup/<str:uid>/", views.pickup_item, name="pickup_item"),
    path("my/", views.my_mail, name="my_mail"),
]
