from readerstudy.accounts import roles as role_names


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": []}
    return {"user_roles": role_names.roles_of(user)}
