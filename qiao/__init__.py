"""Qiao (桥): the CRM for a bank's customer managers.

The operational side is a Django project (``qiao.settings``, the apps under ``qiao/``); the analytical
side is the framework-free package :mod:`qiao.analytics`. Both are driven by the ``qiao`` command
(:mod:`qiao.cli`).
"""

__version__ = "0.1.0"
