from readerstudy.access import policy


def roles(request):
    """What the navigation shows: the site-level and per-study capabilities of the user, from the policy."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"may": {}}
    return {"may": {
        "read": policy.can(user, policy.WORKLIST),
        "create_studies": policy.can(user, policy.STUDY_CREATE),
        "import": policy.can(user, policy.EXAM_IMPORT),
        "models": policy.can(user, policy.MODEL_VIEW),
        "accounts": policy.can(user, policy.ACCOUNTS_MANAGE),
        "analyse": policy.can(user, policy.ANALYSIS_INDEX),
        "audit": policy.can(user, policy.AUDIT_VIEW),
    }}
