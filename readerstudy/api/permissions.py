"""DRF permission classes that ask the access policy; they decide nothing themselves.

`Allowed(site=..., obj=...)`: the site-level action checked for the request (None: any logged-in
user, the querysets narrowing what they see) and the action checked on the object a detail route
fetches. Safe and unsafe methods can name different actions.
"""
from rest_framework.permissions import SAFE_METHODS, BasePermission

from readerstudy.access import policy


def Allowed(*, site=None, obj=None, site_write=None, obj_write=None):
    site_write = site if site_write is None else site_write
    obj_write = obj if obj_write is None else obj_write

    class PolicyPermission(BasePermission):
        def _action(self, request, read, write):
            return read if request.method in SAFE_METHODS else write

        def has_permission(self, request, view):
            if not request.user.is_authenticated:
                return False
            action = self._action(request, site, site_write)
            if action is None:
                return True
            self.message = policy.MESSAGES.get(action, "Permission denied.")
            return policy.can(request.user, action)

        def has_object_permission(self, request, view, instance):
            action = self._action(request, obj, obj_write)
            if action is None:
                return True
            self.message = policy.MESSAGES.get(action, "Permission denied.")
            return policy.can(request.user, action, instance)

    return PolicyPermission
