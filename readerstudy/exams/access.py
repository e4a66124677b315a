"""Who may see an exam's pixels: coordinators and statisticians; readers only within their assignments."""
from readerstudy.accounts import roles


def can_view_exam(user, exam) -> bool:
    if not user.is_authenticated:
        return False
    if roles.is_coordinator(user) or roles.is_statistician(user):
        return True
    if roles.is_reader(user):
        from readerstudy.studies.models import ReadingSetExam

        exam_id = getattr(exam, "pk", exam)
        return ReadingSetExam.objects.filter(exam_id=exam_id, reading_set__assignments__reader=user).exists()
    return False
