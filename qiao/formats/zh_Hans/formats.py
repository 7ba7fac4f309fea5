# Grouped by three with a comma, as a Chinese bank's statements print ¥1,307,985.40
# (qiao/formats/__init__.py); 万元 is a unit the pages choose (qiao.core.amounts), not a grouping.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
