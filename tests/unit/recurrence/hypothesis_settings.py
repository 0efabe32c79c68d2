"""Hypothesis settings for the recurrence properties.

`make mutation` runs these tests once per mutant, so it sets HAVEN_HYPOTHESIS_PROFILE=mutation:
fewer examples, derandomized, so that a mutant is judged the same way every time.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("recurrence", max_examples=150, deadline=None)
settings.register_profile("mutation", max_examples=25, deadline=None, derandomize=True)

PROPERTIES = settings.get_profile(os.environ.get("HAVEN_HYPOTHESIS_PROFILE", "recurrence"))
