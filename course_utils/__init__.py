"""Shared tools for the rnn-gradients course.

The package holds what the course *gives* (plotting, checks for test cells, seeding, models,
training, probes and explorers), never what an exercise asks a student to write.

Modules, by the notebook that introduces them:

- ``env``          -- 01: seeding, fast mode (``COURSE_FAST``), the one-line notebook setup
- ``checks``       -- 01: assertions for test cells with expected / got / suspect messages
- ``plotting``     -- 01: the course's figure style and small plotting helpers
- ``widgets``      -- 01: interactive explorers; every callback is a plain plotting function
- ``probes``       -- 02: ``||dL/dh_t||`` from one backward pass, step Jacobians and their spectra
- ``truncation``   -- 02: truncated BPTT, fixed or randomized, and the delayed-echo experiment
- ``spectra``      -- 03: example matrices and complex-plane plots of spectra
- ``mean_field``   -- 03: mean-field Lyapunov exponent of random tanh RNNs, end-to-end Jacobians
- ``models``       -- 04: sequence models on ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``
- ``training``     -- 04: a deterministic training loop with clipping, history and NaN stop
- ``cliff``        -- 04: the one-unit RNN of Pascanu et al. (2013) and its error surface
- ``init_schemes`` -- 05: recurrent matrices from ``torch.nn.init`` and Jacobian-norm curves
- ``gates``        -- 06: gate values and the memory horizon of an LSTM
- ``sweeps``       -- 07: results of experiments too long to run live (``data/``), and their explorer
- ``dashboard``    -- 08: a live gradient-flow dashboard
- ``lru``          -- 09: a network of linear recurrent units (built from the student's parts), the
                      ring explorer
"""

__version__ = "0.1.0"
