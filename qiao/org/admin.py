from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from qiao.org.models import OrgUnit, Staff


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "path"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    readonly_fields = ["path"]


@admin.register(Staff)
class StaffAdmin(UserAdmin):
    list_display = ["username", "name", "role", "unit", "grade", "is_active", "leave_date"]
    list_filter = ["role", "grade", "is_active", "unit__level"]
    search_fields = ["username", "name"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (
            _("Bank"),
            {"fields": ("name", "role", "unit", "grade", "mobile", "hire_date", "leave_date")},
        ),
    )
