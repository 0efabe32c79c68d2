"""Hypothesis settings for the recurrence properties.

`make mutation` runs these tests once per mutant, so it sets HAVEN_HYPOTHESIS_PROFILE=mutation:
fewer examples, derandomized (a mutant is judged the same way every time), and no shrinking
or example database (a mutant only needs to fail, not to fail minimally).
"""

from __future__ import annotations

import os

from hypothesis import Phase, settings

settings.register_profile("recurrence", max_examples=150, deadline=None)
settings.register_profile(
    "mutation",
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
)

PROPERTIES = settings.get_profile(os.environ.get("HAVEN_HYPOTHESIS_PROFILE", "recurrence"))
