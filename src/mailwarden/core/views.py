from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def lockout(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("Too many failed sign-in attempts. Try again later.", status=429)
