"""The three roles of a reader study, as Django groups (created by a data migration)."""
READER = "reader"
COORDINATOR = "coordinator"
STATISTICIAN = "statistician"
ROLES = (READER, COORDINATOR, STATISTICIAN)


def has_role(user, role: str) -> bool:
    if not user.is_authenticated:
        return False
    cache = getattr(user, "_role_cache", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._role_cache = cache
    return role in cache


def is_reader(user) -> bool:
    return has_role(user, READER)


def is_coordinator(user) -> bool:
    return has_role(user, COORDINATOR)


def is_statistician(user) -> bool:
    return has_role(user, STATISTICIAN)


def roles_of(user) -> list[str]:
    return [role for role in ROLES if has_role(user, role)]
