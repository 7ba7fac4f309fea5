from django.contrib import admin

from qiao.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only (no add, change or delete, here or anywhere)."""

    list_display = ["at", "username", "action", "customer_no", "ip", "channel"]
    list_filter = ["action", "channel"]
    search_fields = ["username", "customer_no"]
    date_hierarchy = "at"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
