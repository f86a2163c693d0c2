"""What fastgmm's benchmarks share: data, the NumPy baseline, fit helpers, probes.

Imported by the ASV suite (``benchmarks/``), the comparison script (``compare.py``)
and the stage profile (``stage_profile.py``), never by the installed package:

- :mod:`harness.data`: synthetic mixtures and the initial parameters every
  implementation starts from;
- :mod:`harness.numpy_em`: the plain vectorised NumPy EM, the baseline;
- :mod:`harness.fitting`: one interface to fit, predict and score with fastgmm,
  scikit-learn or the baseline, with a fixed number of iterations;
- :mod:`harness.timing`: wall-clock timing that lets other thread pools go idle;
- :mod:`harness.memory`: peak-memory probes read from ``/proc/self/status``;
- :mod:`harness.roofline`: the floating-point work of one EM iteration and the
  machine's dgemm rate;
- :mod:`harness.onedal_em`: Intel oneDAL's ``em_gmm``, timed in a subprocess
  that runs in daal4py's own environment.

Scripts in ``asv_bench/`` import it as ``harness`` (their directory is on
``sys.path``); ``benchmarks/__init__.py`` puts ``asv_bench/`` there for ASV.
"""

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
