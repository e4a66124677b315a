"""Roles are held per study now (studies.Membership). The one site-level role left is "study
creators" (create studies, import exams and truth, register models, create reader accounts):
the former global coordinators hold it. The global reader/coordinator/statistician groups go."""
from django.db import migrations

OLD_ROLES = ("reader", "coordinator", "statistician")


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    creators, _ = Group.objects.get_or_create(name="study creators")
    old = Group.objects.filter(name="coordinator").first()
    if old is not None:
        creators.user_set.add(*old.user_set.all())
    Group.objects.filter(name__in=OLD_ROLES).delete()


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in OLD_ROLES:
        Group.objects.get_or_create(name=name)
    Group.objects.filter(name="study creators").delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_roles"), ("studies", "0004_memberships_from_global_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
