from django.contrib import admin

from qiao.ingest.models import LoadRecord


@admin.register(LoadRecord)
class LoadRecordAdmin(admin.ModelAdmin):
    """The load history: file, checksum, counts, encoding, who and when (read-only)."""

    list_display = [
        "file_name",
        "kind",
        "status",
        "encoding",
        "rows",
        "loaded",
        "updated",
        "unchanged",
        "rejected",
        "loaded_by",
        "started_at",
    ]
    list_filter = ["status", "kind", "encoding"]
    search_fields = ["file_name", "sha256"]
    date_hierarchy = "started_at"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
