"""Customers are kept by loads and the pages (with validation, scope and audit); the admin shows
them read-only so that nobody edits around those rules."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from qiao.customers.models import Customer, CustomerGroup, GroupMembership, Ownership, SavedGroup


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = [
        "customer_no",
        "customer_type",
        "branch",
        "tier",
        "primary_manager",
        "open_date",
    ]
    list_filter = ["customer_type", "standing__tier"]
    list_select_related = ["branch", "primary_manager", "standing"]
    search_fields = ["customer_no"]
    # Personal financial information stays off the admin: the 360 page masks and audits it.
    fields = ["customer_no", "customer_type", "branch", "tier", "primary_manager", "open_date"]
    readonly_fields = ["tier"]

    @admin.display(description=_("tier"), ordering="standing__tier")
    def tier(self, obj: Customer) -> str:
        return obj.tier


class MembershipInline(admin.TabularInline):
    model = GroupMembership
    raw_id_fields = ["customer"]
    extra = 0


@admin.register(CustomerGroup)
class CustomerGroupAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    inlines = [MembershipInline]


@admin.register(Ownership)
class OwnershipAdmin(ReadOnlyAdmin):
    list_display = ["customer", "staff", "role", "start_date", "end_date", "assigned_by"]
    list_filter = ["role"]
    search_fields = ["customer__customer_no", "staff__username"]


@admin.register(SavedGroup)
class SavedGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "owner", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["owner", "customers"]
