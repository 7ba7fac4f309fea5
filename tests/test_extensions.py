"""qiao.core.extensions: the apps offering a step, asked once."""

from __future__ import annotations

from django.apps import apps

from qiao.core.extensions import app_configs_offering
from qiao.core.refs import ExportsRefs
from qiao.core.tiers import ProvidesTierLabels
from qiao.customers.scope import ExtendsCustomerScope
from qiao.org.leavers import ActsOnLeavers


def test_the_offering_apps_are_those_of_the_registry_in_its_order():
    for protocol in (ExportsRefs, ProvidesTierLabels, ExtendsCustomerScope, ActsOnLeavers):
        expected = [c.label for c in apps.get_app_configs() if isinstance(c, protocol)]
        assert [c.label for c in app_configs_offering(protocol)] == expected
        assert app_configs_offering(protocol) is app_configs_offering(protocol)  # kept
    # What the apps offer today: the risk app widens the scope (key-account teams), the
    # reference tables come from three apps, the API ends a leaver's tokens.
    assert [c.label for c in app_configs_offering(ExtendsCustomerScope)] == ["risk"]
    assert {c.label for c in app_configs_offering(ExportsRefs)} == {
        "customers",
        "products",
        "engagement",
    }
    assert "api" in {c.label for c in app_configs_offering(ActsOnLeavers)}
    assert app_configs_offering(ProvidesTierLabels)
