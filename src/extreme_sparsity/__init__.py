"""Reference implementation of "Extreme sparsity gives rise to functional specialization" (Béna & Goodman).

Modules follow the paper: ``task`` (section 2.1), ``model`` (equation 3), ``deep_r`` (section 2.4),
``sparsity`` (p grid and Q, equations 4-5, 9), ``training``, ``metrics`` (section 3),
``specialization`` (equation 8).
"""

__version__ = "0.1.0"
