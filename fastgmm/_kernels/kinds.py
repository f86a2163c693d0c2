"""The kernels' integer codes, importable without Numba: kernel kinds, pass
modes and prediction outputs."""

FULL, TIED, DIAG, SPHERICAL = 0, 1, 2, 3
"""Kernel kinds (``_covariance`` maps each covariance type to one). SPHERICAL
runs the diag kernels, with one precision per component (``factor`` of shape
(K, 1, 1)) taking the spherical log-densities and statistics: a kind of its
own, so that a diag fit does not compile them."""

RESPONSIBILITIES, RESPONSIBILITIES_ENTROPY, SAMPLED, ASSIGNED = 0, 1, 2, 3
"""Pass modes of ``em.accumulate`` (and of ``missing``'s passes): what a point
contributes after its log-densities. RESPONSIBILITIES: the softmax, weighting
the statistics (EM, and variational Bayes, whose entropy term
``_stats.pass_entropy`` takes from the statistics). RESPONSIBILITIES_ENTROPY
(the passes over data with missing values, ``missing``): the same, and
sum_k r_k log r_k, less the missing values' conditional entropy, added to the
pass's entropy. SAMPLED: one component drawn from the softmax by a
counter-based uniform (``random.sample_block``), whose one-hot column weights
the statistics (a Gibbs sweep's assignment). ASSIGNED
(``em.accumulate_assigned``): no log-densities; the statistics of given
responsibilities, seeded rows or nearest means."""

SCORE, LABELS, PROBA = 0, 1, 2
"""What ``em.predict_rows`` writes per row: log p(x), the most likely component,
or the responsibilities."""
