"""The reports app's console pages."""

from django.urls import path

from mailwarden.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:key>.csv", views.chart_csv, name="csv"),
    path("<slug:key>.pdf", views.chart_pdf, name="pdf"),
]
