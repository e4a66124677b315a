"""Role permissions of the API. Object-level rules (own readings, blinding) live in the querysets
and services the views use, so a list, a detail and an action are restricted the same way."""
from rest_framework.permissions import SAFE_METHODS, BasePermission

from readerstudy.accounts import roles


class HasRole(BasePermission):
    """Any of the three roles; an account without a role reaches nothing."""

    message = "Your account has no role in any study."

    def has_permission(self, request, view):
        return bool(roles.roles_of(request.user))


class IsCoordinator(BasePermission):
    message = "Only coordinators may do this."

    def has_permission(self, request, view):
        return roles.is_coordinator(request.user)


class IsCoordinatorOrStatistician(BasePermission):
    message = "Only coordinators and statisticians may see this."

    def has_permission(self, request, view):
        return roles.is_coordinator(request.user) or roles.is_statistician(request.user)


class CoordinatorWrites(BasePermission):
    """Reading is for every role (querysets narrow it); changes are for coordinators."""

    message = "Only coordinators may change studies."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return bool(roles.roles_of(request.user))
        return roles.is_coordinator(request.user)


class IsReader(BasePermission):
    message = "Only readers submit and amend readings."

    def has_permission(self, request, view):
        return roles.is_reader(request.user)
