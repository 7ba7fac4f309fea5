"""Number formats as a Chinese bank writes them (issue 13 item 6): digits grouped by three with a
comma in every language (Django's Chinese locales group nothing: 1307985). Only these names are
overridden; everything else (dates, the decimal point) is Django's locale's.
"""
