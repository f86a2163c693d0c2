"""Conjugate posterior draws of a Gaussian mixture's parameters given the
sufficient statistics of sampled assignments (the second half of a Gibbs sweep).

The model, per covariance type, with scikit-learn's prior names (``Priors``):

- weights: Dirichlet(alpha_0, ..., alpha_0) ('dirichlet_distribution'), or
  stick-breaking v_k ~ Beta(1, alpha_0), pi_k = v_k prod_{j<k} (1 - v_j),
  truncated at K sticks by v_K = 1 ('dirichlet_process');
- 'full': Lambda_k ~ Wishart(nu_0, W_0) with W_0^-1 = ``covariance_prior``, and
  mu_k | Lambda_k ~ N(m_0, (beta_0 Lambda_k)^-1) (Normal-Wishart);
- 'tied': one Lambda ~ Wishart(nu_0, W_0) shared, mu_k | Lambda as for 'full';
- 'diag': lambda_kd ~ Gamma(nu_0 / 2, rate c_d / 2) per feature with c =
  ``covariance_prior`` (D,), mu_kd | lambda_kd ~ N(m_0d, 1 / (beta_0 lambda_kd))
  (Normal-gamma, the inverse-gamma prior on each variance);
- 'spherical': lambda_k ~ Gamma(nu_0 / 2, rate c / 2), mu_k | lambda_k ~
  N(m_0, I / (beta_0 lambda_k));
- known covariances Sigma_k (``fixed``): mu_k ~ N(m_0, Sigma_k / beta_0), nothing
  else drawn.

The prior mean of every precision is that of scikit-learn's variational
posterior (nu_0 W_0, or nu_0 / c). Each draw integrates the means out of the
precision's conditional (a collapsed, exact block): given assignments with
masses n_k, means x̄_k and scatters S_k,

    beta_k = beta_0 + n_k,  m_k = (beta_0 m_0 + n_k x̄_k) / beta_k,
    precision | z ~ Wishart(nu_0 + n_k, (W_0^-1 + S_k + beta_0 n_k / beta_k
                    (x̄_k - m_0)(x̄_k - m_0)ᵀ)^-1),
    mu_k | precision, z ~ N(m_k, (beta_k Lambda_k)^-1),

('tied': nu_0 + N and the sums over k; 'spherical': shape (nu_0 + n_k D) / 2).
A component with no points has n_k = 0 and draws from its prior, so a chain
never returns NaN parameters. The draws are compiled (``_kernels.gibbs``); this
module lays parameters, priors and statistics out for them and runs chains:
in-memory data by one compiled call per chain, other sources by a Python loop
over sweeps that calls the same compiled pieces.
"""

import numpy as np

from ._kernels import em
from ._kernels import gibbs as kernel
from ._kernels.kinds import RESPONSIBILITIES, SAMPLED
from ._kernels.random import sweep_key
from ._params import Params


def three_d_shape(ctype, n_components, n_features):
    """The kernels' 3-D shape of covariances and factors (``_kernels.gibbs``)."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (1, n_features, n_features),
        "diag": (n_components, 1, n_features),
        "spherical": (n_components, 1, 1),
    }[ctype.name]


def documented(ctype, values, n_components, n_features):
    """Arrays of the 3-D layout (with any leading dimensions) in their
    documented shape (``CovarianceType.shape``): a reshape, no copy."""
    lead = values.shape[:-3]
    return values.reshape(lead + ctype.shape(n_components, n_features))


def kernel_priors(priors, ctype):
    """``Priors`` as the kernels take them: (stick_breaking, alpha_0, beta_0,
    m_0, nu_0, W_0⁻¹ as a 2-D array)."""
    scale = np.asarray(priors.covariance_prior, dtype=np.float64)
    if not ctype.stores_matrices:
        scale = scale.reshape(1, -1)
    return (
        priors.weight_concentration_prior_type == "dirichlet_process",
        float(priors.weight_concentration_prior),
        float(priors.mean_precision_prior),
        np.ascontiguousarray(priors.mean_prior, dtype=np.float64),
        float(priors.degrees_of_freedom_prior),
        np.ascontiguousarray(scale),
    )


class ChainState:
    """A chain's current draw in the kernels' layout, and the scratch of its
    passes (allocated once per chain).

    Parameters
    ----------
    ctype : CovarianceType
    n_components, n_features, n_chunks : int
        ``n_chunks``: the chunks of the data's partition (``chunk_layout``).
    fixed : Params or None
        Known covariances: held in the state and never drawn.
    """

    def __init__(self, ctype, n_components, n_features, n_chunks=1, fixed=None):
        k, d = n_components, n_features
        shape = three_d_shape(ctype, k, d)
        self.ctype, self.code = ctype, kernel.TYPE_CODES[ctype.name]
        self.n_components, self.n_features = k, d
        self.fixed = fixed is not None
        self.weights, self.means = np.empty(k), np.empty((k, d))
        if self.fixed:
            self.covariances = np.ascontiguousarray(
                fixed.covariances, dtype=np.float64).reshape(shape).copy()
            self.factors = np.ascontiguousarray(
                fixed.precisions_cholesky, dtype=np.float64).reshape(shape).copy()
        else:
            self.covariances, self.factors = np.empty(shape), np.empty(shape)
        slot_shape = ctype.slot_shape(n_chunks, k, d)
        self.slots = (
            np.empty(shape), np.empty(k), np.empty((k, d)),  # factor, log_norm, aux
            np.empty((n_chunks, k)), np.empty((n_chunks, k, d)),
            np.empty(slot_shape), np.empty(n_chunks),
        )
        self.stats = (np.empty(k), np.empty((k, d)), np.empty(slot_shape[1:]),
                      np.empty((k, d)), np.empty(d))

    @property
    def arrays(self):
        return (self.weights, self.means, self.covariances, self.factors)

    def params(self):
        """The current draw as ``Params`` (copies)."""
        k, d = self.n_components, self.n_features
        return Params(self.ctype, self.weights.copy(), self.means.copy(),
                      documented(self.ctype, self.covariances, k, d).copy(),
                      documented(self.ctype, self.factors, k, d).copy())

    def draw(self, rng, stats, priors):
        """Draw the parameters given ``stats`` (``SufficientStats``, any shifts)
        and ``priors`` (kernel layout, ``kernel_priors``)."""
        k, d = self.n_components, self.n_features
        s2 = stats.s2.reshape(self.ctype.slot_shape(1, k, d)[1:])
        kernel.draw_parameters(
            rng, self.code, priors, self.fixed, *(
                np.ascontiguousarray(a, dtype=np.float64) for a in (
                    stats.s0, stats.s1, s2, stats.centers, stats.tied_shift)
            ), *self.arrays)

    def draw_from_pass(self, rng, priors):
        """Draw the parameters given the statistics of the last pass (held in
        the scratch by ``streamed_pass``)."""
        kernel.draw_parameters(rng, self.code, priors, self.fixed, *self.stats,
                               *self.arrays)


def draw_parameters(rng, stats, priors, fixed=None):
    """One draw of (weights, means, covariances) given sampled assignments.

    Parameters
    ----------
    rng : numpy.random.Generator
    stats : SufficientStats
        Statistics of the sampled assignments (one-hot responsibilities).
    priors : Priors
    fixed : Params or None
        Known covariances (and their precision factors): only the weights and
        means are drawn.

    Returns
    -------
    Params
    """
    ctype = stats.covariance_type
    state = ChainState(ctype, *stats.s1.shape, fixed=fixed)
    state.draw(rng, stats, kernel_priors(priors, ctype))
    return state.params()


def streamed_pass(source, state, key=None):
    """One pass of an ``ArraySource``, segment by segment, under the state's
    draw: sampled with the sweep ``key``, or with responsibilities (for the
    log-likelihood only) when ``key`` is None. The statistics stay in the
    state's scratch; returns the log-likelihood. The same compiled pieces as
    ``_kernels.gibbs.chain_kernel``'s pass, so the same statistics."""
    factor, log_norm, aux, s0_slots, s1_slots, s2_slots, loglik = state.slots
    s0, s1, s2, centers, tied_shift = state.stats
    centers[:] = state.means
    kernel.pass_layout(state.code, state.weights, centers, state.factors, factor,
                       log_norm, aux, tied_shift)
    kind = state.ctype.kernel_kind
    mode = RESPONSIBILITIES if key is None else SAMPLED
    key = np.uint64(0 if key is None else key)
    for seg in source.segments():
        c = slice(seg.chunk_start, seg.chunk_stop)
        em.accumulate(kind, mode, seg.X, seg.weights, centers, factor, log_norm,
                      aux, tied_shift, source.chunk_rows, s0_slots[c], s1_slots[c],
                      s2_slots[c], loglik[c], key, np.uint64(seg.start))
    return kernel.reduce_slots(state.code, s0_slots, s1_slots, s2_slots, loglik, s0,
                               s1, s2)


def _has_missing(source):
    """Whether the source's rows hold NaN (``_missing``'s sources): its sweeps
    run its ``sampled_pass``, which draws the missing values too."""
    return hasattr(source, "initial_source")


def single_segment(source):
    """The only segment of an ``ArraySource`` of one chunk whose rows are
    resident as one kernel-ready array (in memory, or a checked memory map
    needing no copy), or None. Such data run whole chains in one compiled call
    (``_kernels.gibbs.chain_kernel``); larger data gain little from it, as a
    pass then costs far more than the Python around it. Rows with missing
    values run their own passes (``sampled_pass``), never this one."""
    segments = getattr(source, "segments", None)
    if segments is None or source.n_chunks != 1 or _has_missing(source):
        return None
    rows = segments()
    first = next(rows)
    if next(rows, None) is not None:
        rows.close()
        return None
    return first


class KeptDraws:
    """Preallocated kept draws of one chain: weights (T, K), means (T, K, D),
    covariances (T, 3-D layout) and log-likelihoods (T,)."""

    def __init__(self, state, n_draws):
        self.weights = np.empty((n_draws,) + state.weights.shape)
        self.means = np.empty((n_draws,) + state.means.shape)
        self.covariances = np.empty((n_draws,) + state.covariances.shape)
        self.log_likelihood = np.empty(n_draws)

    @property
    def arrays(self):
        return (self.weights, self.means, self.covariances, self.log_likelihood)

    def keep(self, t, state):
        self.weights[t] = state.weights
        self.means[t] = state.means
        self.covariances[t] = state.covariances


def run_sweeps(source, state, rng, priors, seed, chain, sweeps, n_burn, thin, kept,
               segment=None):
    """Sweeps ``sweeps`` = (first, stop) of one chain, keeping draws as
    ``_kernels.gibbs.chain_kernel`` documents: one compiled call for a resident
    ``segment`` (``single_segment``), else a loop whose passes run segment by
    segment (memory maps) or on the source (dask, rows with missing values)."""
    first, stop = sweeps
    seed64, chain64 = np.uint64(seed), np.uint64(chain)
    n_kept = kept.log_likelihood.shape[0]
    if segment is not None:
        kernel.chain_kernel(state.code, segment.X)(
            rng, priors, state.fixed, segment.X, segment.weights, source.chunk_rows,
            seed64, chain64, (first, stop), n_burn, thin, state.arrays, kept.arrays,
            state.slots, state.stats)
        return
    streamed = hasattr(source, "segments") and not _has_missing(source)
    for sweep in range(first, stop):
        key = sweep_key(seed64, chain64, np.uint64(sweep))
        if streamed:
            loglik = streamed_pass(source, state, key)
        else:
            stats = source.sampled_pass(state.params(), None, key)
            loglik = stats.loglik
        done = sweep - n_burn
        if done > 0 and done % thin == 0:
            kept.log_likelihood[done // thin - 1] = loglik
        if streamed:
            state.draw_from_pass(rng, priors)
        else:
            state.draw(rng, stats, priors)
        done += 1
        if done > 0 and done % thin == 0:
            kept.keep(done // thin - 1, state)
    if stop == n_burn + n_kept * thin:
        # the last draw's log-likelihood needs one more pass
        kept.log_likelihood[-1] = streamed_pass(source, state) if streamed else \
            source.stats_pass(state.params()).loglik
