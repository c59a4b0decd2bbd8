"""Errors that services raise. Each one is an answer for the person, not a crash."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused request. ``field`` names the input at fault, when one is."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"message": self.message, "field": self.field}


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409
