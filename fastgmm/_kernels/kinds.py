"""The kernels' integer codes, importable without Numba: kernel kinds, pass
modes and prediction outputs."""

FULL, TIED, DIAG = 0, 1, 2
"""Kernel kinds (``_covariance`` maps each covariance type to one). spherical
runs as DIAG with one precision per component (``factor`` of shape (K, 1, 1))."""

RESPONSIBILITIES, RESPONSIBILITIES_ENTROPY = 0, 1
"""Pass modes of ``em.accumulate``: what a point contributes after its
log-densities. RESPONSIBILITIES: the softmax, weighting the statistics (EM).
RESPONSIBILITIES_ENTROPY: the same, and sum_k r_k log r_k added to the pass's
entropy (variational Bayes' lower bound). A sampled component per point (Gibbs)
would be a third mode of the same pass."""

SCORE, LABELS, PROBA = 0, 1, 2
"""What ``em.predict_rows`` writes per row: log p(x), the most likely component,
or the responsibilities."""
