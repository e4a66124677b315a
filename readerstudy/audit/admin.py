"""The audit trail in the admin (read-only), and the read-only admin classes every app uses for
its study-critical models: those change only through the services, which keep the rules and
write the audit trail; the admin shows them and never adds, changes or deletes them."""
from django.contrib import admin

from readerstudy.audit.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only: no add, change or delete in the admin (every field is shown read-only, a POST to
    the change page is refused with 403, and the delete action is not offered)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """An inline of a ReadOnlyAdmin: rows shown, none added, changed or deleted."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        # Every field read-only, also those a form cannot hold (auto_now_add and other non-editable
        # ones); not the primary key, nor the link to the parent shown above the inline.
        names = list(super().get_readonly_fields(request, obj))
        for field in self.model._meta.fields:
            if field.primary_key or (field.is_relation and field.related_model is self.parent_model):
                continue
            if field.name not in names:
                names.append(field.name)
        return names

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_username", "action", "object_type", "object_id", "study_id")
    list_filter = ("action", "object_type")
    search_fields = ("actor_username", "object_id", "action")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
