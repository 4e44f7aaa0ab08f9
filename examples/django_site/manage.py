#!/usr/bin/env python
"""The studio's manage.py: `python manage.py studio_demo` runs the example (see README.md)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
