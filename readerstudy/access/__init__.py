"""The one access policy: `policy.can(user, action, obj)` and the querysets of what a user may see."""
