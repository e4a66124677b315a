"""Errors of the studies services that are neither bad input (ValidationError) nor access (PermissionDenied)."""


class Conflict(Exception):
    """The request is valid but clashes with the current state (HTTP 409), e.g. amending a draft."""
