from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LoadRecord(models.Model):
    """One file loaded (or refused): the load history shown in the admin."""

    class Status(models.TextChoices):
        #: being loaded by the process ``pid`` on ``host``, which holds the lock ``lock_token``
        RUNNING = "RUNNING", _("In progress")
        LOADED = "LOADED", _("Loaded")
        FAILED = "FAILED", _("Failed")
        #: its process died while loading (kill -9, power loss); nothing of it was kept
        INTERRUPTED = "INTERRUPTED", _("Interrupted")

    file_name = models.CharField(_("file"), max_length=400)
    kind = models.CharField(_("kind"), max_length=20)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    loaded = models.PositiveIntegerField(_("loaded"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    message = models.TextField(_("message"), blank=True)
    loaded_by = models.CharField(_("loaded by"), max_length=150, blank=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    #: the loading process, to tell a load in progress from one whose process died
    host = models.CharField(_("host"), max_length=255, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)
    lock_token = models.CharField(_("lock"), max_length=32, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("load")
        verbose_name_plural = _("load history")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"
