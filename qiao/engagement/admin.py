from django.contrib import admin

from qiao.engagement.models import (
    CadenceRule,
    Complaint,
    Contact,
    Plan,
    PlanMilestone,
    Prospect,
    ProspectGradeChange,
    Referral,
    Task,
    WorkItem,
)


@admin.register(CadenceRule)
class CadenceRuleAdmin(admin.ModelAdmin):
    list_display = ["tier", "requirement", "interval_days", "lead_days", "active"]
    list_editable = ["interval_days", "lead_days", "active"]
    list_filter = ["tier", "active"]


@admin.register(WorkItem)
class WorkItemAdmin(admin.ModelAdmin):
    list_display = ["kind", "staff", "customer", "value_at_stake", "due", "status", "cause_key"]
    list_filter = ["kind", "status"]
    search_fields = ["cause_key", "customer__customer_no", "staff__username"]
    raw_id_fields = ["staff", "customer", "prospect", "closed_by_contact"]
    readonly_fields = ["created_at", "closed_at"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["at", "channel", "staff", "customer", "satisfaction"]
    list_filter = ["channel"]
    search_fields = ["customer__customer_no", "staff__username"]
    raw_id_fields = ["staff", "customer"]
    date_hierarchy = "at"


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "staff", "customer", "due", "done"]
    list_filter = ["done"]
    raw_id_fields = ["staff", "customer", "contact"]


class GradeHistoryInline(admin.TabularInline):
    model = ProspectGradeChange
    extra = 0
    readonly_fields = [
        "at",
        "day",
        "old_grade",
        "new_grade",
        "expected_value",
        "likelihood",
        "reason",
        "by",
    ]
    can_delete = False


@admin.register(Prospect)
class ProspectAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "kind", "grade", "source", "owner", "next_review", "status"]
    list_filter = ["grade", "source", "status", "kind"]
    search_fields = ["number", "name"]
    raw_id_fields = ["owner", "customer"]
    inlines = [GradeHistoryInline]


class MilestoneInline(admin.TabularInline):
    model = PlanMilestone
    extra = 1


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "owner",
        "customer",
        "group",
        "period",
        "start",
        "end",
        "target_amount",
        "status",
    ]
    list_filter = ["period", "status"]
    raw_id_fields = ["owner", "customer", "group"]
    filter_horizontal = ["products"]
    inlines = [MilestoneInline]


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "reason",
        "referrer_staff",
        "referrer_customer",
        "to_staff",
        "status",
        "credited",
        "created_at",
    ]
    list_filter = ["status", "reason", "credited"]
    raw_id_fields = ["referrer_staff", "referrer_customer", "to_staff", "customer", "prospect"]


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ["subject", "customer", "owner", "received_at", "deadline", "status"]
    list_filter = ["status"]
    raw_id_fields = ["customer", "owner", "created_by"]
