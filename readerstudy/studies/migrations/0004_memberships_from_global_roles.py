"""Per-study roles from the former global groups: each study's creator and the global coordinators
become its coordinators, global statisticians its statisticians, and its assigned readers its
readers (unaided first: those studies were run with a fixed sequence), so nobody loses access and
nobody holds two roles in one study (the reader role wins, being the one with readings)."""
from django.db import migrations


def forwards(apps, schema_editor):
    Study = apps.get_model("studies", "Study")
    Membership = apps.get_model("studies", "Membership")
    Assignment = apps.get_model("studies", "Assignment")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    global_members = {name: list(User.objects.filter(groups__name=name).values_list("pk", flat=True))
                      for name in ("coordinator", "statistician")} if Group.objects.exists() else {}
    for study in Study.objects.all():
        Study.objects.filter(pk=study.pk).update(
            sequence_design="unaided_first", protocol_version=0 if study.status == "draft" else 1)
        roles = {}
        for reader_id in Assignment.objects.filter(arm__study=study).values_list("reader_id", flat=True):
            roles[reader_id] = ("reader", "unaided_first")
        for user_id in global_members.get("statistician", []):
            roles.setdefault(user_id, ("statistician", ""))
        for user_id in [study.created_by_id, *global_members.get("coordinator", [])]:
            if user_id is not None:
                roles.setdefault(user_id, ("coordinator", ""))
        Membership.objects.bulk_create(
            Membership(study=study, user_id=user_id, role=role, sequence_group=group) for user_id, (role, group) in roles.items())


class Migration(migrations.Migration):
    dependencies = [("studies", "0003_per_study_roles"), ("accounts", "0001_roles")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
