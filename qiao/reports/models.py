"""Peer benchmarks and background report exports (docs/reports.md).

A :class:`Benchmark` is a figure of a peer bank entered by hand (seed 002 L43–113 compares the
bank's e-banking with its peers'), shown beside the bank's own figure for the same measure and
period. An :class:`ExportJob` is a large workbook built in the background (``qiao worker``): the
person who asked sees its progress and downloads it when done.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Benchmark(models.Model):
    #: A measure of a report (the report's own key for it, e.g. ``ebanking.activation_rate``).
    measure = models.CharField(_("measure"), max_length=60, db_index=True)
    #: The first day of the month, quarter or year the figure stands for.
    period = models.DateField(_("period"))
    peer = models.CharField(_("peer bank"), max_length=100)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=6)
    source = models.CharField(_("source"), max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("entered by")
    )
    entered_at = models.DateTimeField(_("entered"), auto_now=True)

    class Meta:
        verbose_name = _("peer benchmark")
        verbose_name_plural = _("peer benchmarks")
        ordering = ["measure", "-period", "peer"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "period", "peer"], name="reports_benchmark_one_per_peer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.peer} {self.measure} {self.period:%Y-%m}"


class ExportJob(models.Model):
    class Status(models.TextChoices):
        WAITING = "WAITING", _("Waiting")
        RUNNING = "RUNNING", _("Being built")
        DONE = "DONE", _("Ready")
        FAILED = "FAILED", _("Failed")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", verbose_name=_("asked by")
    )
    #: A registered report (qiao.core.reports.REPORTS) or a list (``list:customers`` …).
    report = models.CharField(_("report"), max_length=60)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.WAITING
    )
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    #: The workbook's file name under QIAO_HOME/exports/ once built.
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("report export")
        verbose_name_plural = _("report exports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.report} {self.created_at:%Y-%m-%d %H:%M}"
