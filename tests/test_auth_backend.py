"""qiao.org.backends.StaffBackend: ModelBackend's answers in fewer queries."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from qiao.org.backends import StaffBackend
from qiao.org.models import Role
from qiao.org.permissions import EXPORT_CUSTOMERS, VIEW_AUDIT, staff_has_perm
from tests.factories import make_staff, make_unit

pytestmark = pytest.mark.django_db


def _perm(perm: str) -> Permission:
    app, codename = perm.split(".")
    return Permission.objects.get(content_type__app_label=app, codename=codename)


def test_the_user_comes_with_their_unit_in_one_query(django_assert_num_queries):
    unit = make_unit("O1", "OUTLET", None)
    cm = make_staff("cm_a", Role.CM, unit)
    with django_assert_num_queries(1):
        user = StaffBackend().get_user(cm.pk)
        assert user is not None and user.unit.code == "O1"
    cm.is_active = False
    cm.save()
    assert StaffBackend().get_user(cm.pk) is None
    assert StaffBackend().get_user(cm.pk + 1000) is None


def test_own_and_group_grants_in_one_query_same_answers_as_model_backend(
    django_assert_num_queries,
):
    from django.contrib.auth.backends import ModelBackend

    unit = make_unit("O1", "OUTLET", None)
    cm = make_staff("cm_a", Role.CM, unit)
    other = make_staff("cm_b", Role.CM, unit)
    group = Group.objects.create(name="auditors")
    group.permissions.add(_perm(VIEW_AUDIT))
    cm.groups.add(group)
    cm.user_permissions.add(_perm(EXPORT_CUSTOMERS))
    for staff in (cm, other):
        fresh = StaffBackend().get_user(staff.pk)
        with django_assert_num_queries(1):
            mine = StaffBackend().get_all_permissions(fresh)
            StaffBackend().get_all_permissions(fresh)  # remembered for the request
        assert mine == ModelBackend().get_all_permissions(type(staff).objects.get(pk=staff.pk))
    fresh = StaffBackend().get_user(cm.pk)
    assert staff_has_perm(fresh, VIEW_AUDIT) and staff_has_perm(fresh, EXPORT_CUSTOMERS)
    fresh = StaffBackend().get_user(other.pk)
    assert not staff_has_perm(fresh, VIEW_AUDIT) and not staff_has_perm(fresh, EXPORT_CUSTOMERS)
    # A superuser holds every permission; an inactive account none.
    cm.is_superuser = True
    cm.save()
    assert StaffBackend().get_all_permissions(type(cm).objects.get(pk=cm.pk)) == {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }
    cm.is_active = False
    assert StaffBackend().get_all_permissions(cm) == set()
