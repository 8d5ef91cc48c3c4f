"""Shared tools for the rnn-gradients course.

The package holds what the course *gives* (plotting, checks for test cells, seeding, models and
probes introduced by later notebooks), never what an exercise asks a student to write.

Modules, by the notebook that introduces them:

- ``env``       -- 01: seeding, fast mode (``COURSE_FAST``), the one-line notebook setup
- ``checks``    -- 01: assertions for test cells with expected / got / suspect messages
- ``plotting``  -- 01: the course's figure style and small plotting helpers
- ``widgets``   -- 01: interactive explorers; every callback is a plain plotting function
"""

__version__ = "0.1.0"
