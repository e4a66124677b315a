"""Site-level roles. Roles in a study (coordinator, reader, statistician) are held per study by
`studies.Membership`; the only site-level role is the right to create studies, import exams and
ground truth, register models and create reader accounts (the group below). Site administrators
are Django superusers. Who may do what on which object is decided in `readerstudy.access.policy`.
"""
STUDY_CREATORS = "study creators"


def is_study_creator(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_study_creator", None)
    if cached is None:
        cached = user.groups.filter(name=STUDY_CREATORS).exists()
        user._is_study_creator = cached
    return cached
