"""``GibbsGaussianMixture``: draws from the posterior of a Bayesian Gaussian
mixture by blocked Gibbs sampling, one parallel pass over the data per sweep.

A sweep is EM's pass with another rule after the log-densities: each point
draws its component from its responsibilities (``_kernels.kinds.SAMPLED``, a
counter-based uniform keyed by seed, chain, sweep and row), and the pass adds the
statistics of the sampled assignment. The weights, means and covariances are
then drawn from their conjugate posterior given those statistics (``_gibbs``).
No per-point state survives a sweep.
"""

import functools
import itertools
import warnings
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real
from time import perf_counter

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseMixture, InformationCriteriaMixin, MissingValuesMixin
from ._covariance import NAMES
from ._gibbs import (
    ChainState,
    KeptDraws,
    documented,
    kernel_priors,
    run_sweeps,
    single_segment,
)
from ._params import Params
from ._validation import _check_shape, _checked_array, resolve_n_jobs
from ._variational import resolve_priors

_PRIOR_ATTRIBUTES = (
    "weight_concentration_prior_type", "weight_concentration_prior",
    "mean_precision_prior", "mean_prior", "degrees_of_freedom_prior",
    "covariance_prior",
)

# passes of the relabelling: assign each draw to the reference, average, repeat
RELABEL_ROUNDS = 3
# draws assigned at once, and the largest K whose K! permutations are compared
# directly (5! = 120; beyond, scipy's assignment solver per draw)
RELABEL_BATCH = 4096
ENUMERATED_COMPONENTS = 5


class GibbsGaussianMixture(MissingValuesMixin, InformationCriteriaMixin, BaseMixture):
    """Bayesian Gaussian mixture sampled by blocked Gibbs sampling, compiled.

    The model is that of :class:`BayesianGaussianMixture` (same prior names and
    defaults): Dirichlet or truncated stick-breaking weights, and per component
    a Normal-Wishart prior ('full'; one Wishart for 'tied', a Normal-gamma per
    feature for 'diag' and per component for 'spherical'; see
    ``fastgmm._gibbs``), or known covariances (``covariances_fixed``) with
    mu_k ~ N(mean_prior, covariances_fixed_k / mean_precision_prior). Each sweep
    is one parallel pass over ``X`` that samples every point's component and
    adds the statistics of that assignment, followed by a draw of all the
    parameters from their conjugate posterior. ``n_chains`` chains of
    ``n_burn + n_draws * thin`` sweeps run one after the other, each in one
    compiled call for in-memory data; when the data are one chunk (under 8,192
    rows) the chains run side by side on up to ``n_jobs`` threads instead, with
    the same draws.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    covariances_fixed : array-like, default=None
        Known covariances, shaped as ``covariances_`` for ``covariance_type``
        ((K, D, D) 'full', (D, D) 'tied', (K, D) 'diag', (K,) 'spherical'),
        positive definite. Then only the weights and means are sampled.
    n_draws : int, default=1000
        Draws kept per chain.
    n_burn : int, default=200
        Sweeps discarded at the start of each chain (0 allowed).
    thin : int, default=1
        Sweeps per kept draw.
    n_chains : int, default=4
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
        The responsibilities whose statistics give each chain's first draw of
        the parameters (each chain has its own initialisation).
    weight_concentration_prior_type : {'dirichlet_process', \
            'dirichlet_distribution'}, default='dirichlet_process'
    weight_concentration_prior : float > 0, default=None
        None means 1 / n_components.
    mean_precision_prior : float > 0, default=None
        None means 1.
    mean_prior : array-like of shape (n_features,), default=None
        None means the (weighted) mean of X.
    degrees_of_freedom_prior : float > n_features - 1, default=None
        None means n_features.
    covariance_prior : float or array-like, default=None
        None means the (weighted, unbiased) covariance of X.
    random_state : int, RandomState instance or None, default=None
        An int gives the same draws, bit for bit, for any ``n_jobs``, in memory
        or memory-mapped.
    verbose : int, default=0
        1: each chain's time and draws per second; 2: also every
        ``verbose_interval`` sweeps.
    verbose_interval : int, default=100
    n_jobs : int, default=None
        Threads of the compiled passes, or of the chains run side by side on
        small data (None: all of Numba's).
    missing_values : {'nan'} or None, default=None
        None: scikit-learn's behaviour, X with NaN is rejected. ``'nan'``: NaN
        marks a missing value (missing at random), sampled by data
        augmentation: each sweep draws every row's component from the
        responsibilities of its observed coordinates, then its missing values
        from their conditional Gaussian under that component, and the
        parameters given the completed rows, so the chains sample the
        posterior given the observed values. The default ``mean_prior`` and
        ``covariance_prior`` are those of :class:`BayesianGaussianMixture`
        with missing values (observed moments); ``log_likelihood_draws_`` is
        the observed-data log-likelihood. Infinity, and rows and columns with
        no observed value, are rejected. X without NaN is sampled bitwise as
        with None. :meth:`impute` fills the missing values under the posterior
        means.

    Attributes
    ----------
    weights_draws_ : ndarray of shape (n_chains, n_draws, n_components)
    means_draws_ : ndarray of shape (n_chains, n_draws, n_components, n_features)
    covariances_draws_ : ndarray of shape (n_chains, n_draws, ...)
        Relabelled draws (see Notes); absent with ``covariances_fixed``.
    weights_draws_raw_, means_draws_raw_, covariances_draws_raw_ : ndarray
        The draws as sampled, before relabelling.
    relabelling_ : ndarray of shape (n_chains, n_draws, n_components)
        ``means_draws_[c, t] = means_draws_raw_[c, t, relabelling_[c, t]]``.
    log_likelihood_draws_ : ndarray of shape (n_chains, n_draws)
        sum_n w_n log p(x_n | draw), the data's log-likelihood under each draw.
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
        Posterior means of the relabelled draws (weights: renormalised;
        covariances: the mean covariance and its precision).
    n_features_in_ : int
    feature_names_in_ : ndarray

    Notes
    -----
    ``predict``, ``predict_proba``, ``score_samples``, ``score``, ``sample``,
    ``bic`` and ``aic`` use the posterior means as a single plug-in mixture,
    not the posterior predictive.

    Label switching: the mixture is invariant under permutations of its
    components, so each draw is relabelled to a reference by the optimal
    assignment of its means (squared Euclidean distance,
    ``scipy.optimize.linear_sum_assignment``); the reference starts from the
    last draw of the first chain and becomes the mean of the relabelled means
    (three rounds). Label-invariant summaries need no relabelling: use the raw
    draws for them.

    A sample of integer weight w counts as w repeated samples, each drawing its
    own component; a fractional part counts as one more sample of that weight.
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(NAMES))],
        "covariances_fixed": [None, "array-like"],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
        "n_burn": [Interval(Integral, 0, None, closed="left")],
        "thin": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "init_params": [
            StrOptions({"kmeans", "k-means++", "random", "random_from_data"})
        ],
        "weight_concentration_prior_type": [
            StrOptions({"dirichlet_process", "dirichlet_distribution"})
        ],
        "weight_concentration_prior": [
            None, Interval(Real, 0.0, None, closed="neither"),
        ],
        "mean_precision_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_prior": [None, "array-like"],
        "degrees_of_freedom_prior": [
            None, Interval(Real, 0.0, None, closed="neither"),
        ],
        "covariance_prior": [
            None, "array-like", Interval(Real, 0.0, None, closed="neither"),
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        **MissingValuesMixin._missing_values_constraint,
    }

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        covariances_fixed=None,
        n_draws=1000,
        n_burn=200,
        thin=1,
        n_chains=4,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        verbose=0,
        verbose_interval=100,
        n_jobs=None,
        missing_values=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.covariances_fixed = covariances_fixed
        self.n_draws = n_draws
        self.n_burn = n_burn
        self.thin = thin
        self.n_chains = n_chains
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs
        self.missing_values = missing_values

    # the driver's warm start and restarts do not apply to a sampler
    warm_start = False
    n_init = 1

    # ------------------------------------------------------------ validation

    def _prior_arguments(self):
        return {name: getattr(self, name) for name in _PRIOR_ATTRIBUTES}

    def _check_initial_values(self, n_features):
        """Validate the priors and ``covariances_fixed`` before any kernel runs;
        return the known covariances as ``Params`` (or None)."""
        resolve_priors(self.covariance_type, self.n_components, np.zeros(n_features),
                       np.eye(n_features), 2.0, **self._prior_arguments())
        if self.covariances_fixed is None:
            return None
        ctype = self._covariance
        covariances = _checked_array(self.covariances_fixed, "covariances_fixed")
        _check_shape(covariances, ctype.shape(self.n_components, n_features),
                     f"{self.covariance_type} covariances_fixed",
                     "covariances_fixed")
        covariances = covariances.astype(np.float64)
        if ctype.stores_matrices and not np.allclose(
            covariances, np.swapaxes(covariances, -1, -2), rtol=1e-8, atol=0.0
        ):
            raise ValueError("covariances_fixed must be symmetric.")
        factors, failed = ctype.cholesky_from_covariances(covariances)
        if np.any(failed):
            raise ValueError(
                "covariances_fixed must be positive definite: "
                f"{self.covariance_type} covariance(s) {np.flatnonzero(failed)} "
                "are not."
            )
        return Params(ctype, None, None, covariances, factors)

    def _priors_for(self, source):
        n_features = source.n_features
        mean, covariance = np.zeros(n_features), np.eye(n_features)
        needs_covariance = (self.covariance_prior is None
                            and self.covariances_fixed is None)
        if self.mean_prior is None or needs_covariance:
            mean, covariance = source.mean_and_covariance(self._covariance)
        arguments = self._prior_arguments()
        if self.covariances_fixed is not None and self.covariance_prior is None:
            # unused with known covariances: any valid placeholder
            arguments["covariance_prior"] = {
                "full": np.eye(n_features), "tied": np.eye(n_features),
                "diag": np.ones(n_features), "spherical": 1.0,
            }[self.covariance_type]
        return resolve_priors(self.covariance_type, self.n_components, mean,
                              covariance, source.total_weight, **arguments)

    # --------------------------------------------------------------- sampling

    def _fit_runs(self, source):
        fixed = self._check_initial_values(source.n_features)
        self._feature_variance = None
        self._priors = self._priors_for(source)
        random_state = check_random_state(self.random_state)
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        # every chain's initialisation first, in chain order (they share
        # random_state); the sweeps of each chain depend on its own rng only
        chains = [self._start_chain(source, chain, seed, random_state, fixed)
                  for chain in range(self.n_chains)]
        segment = single_segment(source)
        workers = min(self.n_chains, resolve_n_jobs(self.n_jobs))
        if segment is not None and workers > 1:
            # data of one chunk: each pass runs on its calling thread (no
            # Numba threads are woken), so the chains run side by side
            with ThreadPoolExecutor(workers) as pool:
                chains = list(pool.map(
                    lambda chain: self._run_chain(source, segment, *chain),
                    chains))
        else:
            chains = [self._run_chain(source, segment, *chain) for chain in chains]
        draws = {name: np.stack([c[name] for c in chains])
                 for name in chains[0]}
        self._store_draws(draws, fixed is not None, source.dtype)
        return self._fitted_state()

    def _start_chain(self, source, chain, seed, random_state, fixed):
        """A chain's generator and first draw, from the statistics of its own
        initialisation (``init_params``)."""
        rng = np.random.default_rng([seed, chain])
        state = ChainState(self._covariance, self.n_components, source.n_features,
                           getattr(source, "n_chunks", 1), fixed)
        priors = kernel_priors(self._priors, self._covariance)
        state.draw(rng, self._initial_stats(source, random_state), priors)
        return chain, seed, rng, state, priors

    def _run_chain(self, source, segment, chain, seed, rng, state, priors):
        """One chain's n_burn + n_draws * thin sweeps (one compiled call for
        in-memory data, see ``_gibbs.run_sweeps``), and the kept draws as arrays
        with a leading draw dimension."""
        clock = perf_counter()
        kept = KeptDraws(state, self.n_draws)
        n_sweeps = self.n_burn + self.n_draws * self.thin
        step = self.verbose_interval if self.verbose >= 2 else n_sweeps
        for first in range(0, n_sweeps, step):
            stop = min(n_sweeps, first + step)
            run_sweeps(source, state, rng, priors, seed, chain, (first, stop),
                       self.n_burn, self.thin, kept, segment)
            if self.verbose >= 2 and stop % self.verbose_interval == 0:
                print(f"  Chain {chain} sweep {stop}/{n_sweeps}")
        if self.verbose >= 1:
            elapsed = perf_counter() - clock
            print(f"Chain {chain}: {n_sweeps} sweeps in {elapsed:.3f}s, "
                  f"{n_sweeps / elapsed:.1f} sweeps per second")
        return {
            "weights": kept.weights, "means": kept.means,
            "covariances": documented(self._covariance, kept.covariances,
                                      self.n_components, source.n_features),
            "log_likelihood": kept.log_likelihood,
        }

    def _store_draws(self, draws, covariances_known, dtype):
        order = relabel(draws["means"])
        self.relabelling_ = order
        self.weights_draws_raw_ = draws["weights"]
        self.means_draws_raw_ = draws["means"]
        self.weights_draws_ = _permuted(draws["weights"], order)
        self.means_draws_ = _permuted(draws["means"], order)
        self.log_likelihood_draws_ = draws["log_likelihood"]
        ctype = self._covariance
        covariances = draws["covariances"]
        if covariances_known:
            covariances_mean = covariances[0, 0]
            for name in ("covariances_draws_", "covariances_draws_raw_"):
                self.__dict__.pop(name, None)
        else:
            self.covariances_draws_raw_ = covariances
            if ctype.name != "tied":
                covariances = _permuted(covariances, order)
            self.covariances_draws_ = covariances
            covariances_mean = covariances.mean(axis=(0, 1))
        weights = self.weights_draws_.mean(axis=(0, 1))
        factors, failed = ctype.cholesky_from_covariances(covariances_mean)
        params = Params(ctype, weights / weights.sum(),
                        self.means_draws_.mean(axis=(0, 1)), covariances_mean,
                        factors)
        self._set_fitted(params, dtype)
        self.n_iter_ = self.n_burn + self.n_draws * self.thin

    # ------------------------------------------------------ driver interface

    def _pass_params(self, state):
        return state, None

    def _set_fitted(self, state, dtype):
        self.weights_ = state.weights.astype(dtype)
        self.means_ = state.means.astype(dtype)
        self.covariances_ = state.covariances.astype(dtype)
        self.precisions_cholesky_ = state.precisions_cholesky.astype(dtype)
        self.precisions_ = state.precisions.astype(dtype)

    def _fitted_state(self):
        return Params(
            self._covariance,
            np.asarray(self.weights_, dtype=np.float64),
            np.asarray(self.means_, dtype=np.float64),
            np.asarray(self.covariances_, dtype=np.float64),
            np.asarray(self.precisions_cholesky_, dtype=np.float64),
        )

    def save(self, path):
        """Not available yet for posterior draws: the portable file format holds
        the two other estimators only.

        Raises
        ------
        NotImplementedError
            Always. Keep the draws with ``to_arviz().to_netcdf(path)``, or pickle
            the estimator.
        """
        raise NotImplementedError(
            "GibbsGaussianMixture cannot be saved to fastgmm's file format yet; "
            "keep the draws with model.to_arviz().to_netcdf(path), or pickle the "
            "model."
        )

    # -------------------------------------------------------------- diagnostics

    def to_arviz(self):
        """The relabelled draws as an ``arviz.InferenceData``.

        The posterior group holds ``weights`` (chain, draw, component),
        ``means`` (chain, draw, component, feature) and, unless the covariances
        are known, ``covariances`` (full: component, feature, feature_other;
        tied: feature, feature_other; diag: component, feature; spherical:
        component); sample_stats holds ``log_likelihood`` (chain, draw). Needs
        ArviZ (``pip install fastgmm[bayes]``).

        Returns
        -------
        arviz.InferenceData
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        import arviz

        n_components, n_features = self.means_.shape
        posterior = {"weights": self.weights_draws_, "means": self.means_draws_}
        dims = {"weights": ["component"], "means": ["component", "feature"]}
        if hasattr(self, "covariances_draws_"):
            posterior["covariances"] = self.covariances_draws_
            dims["covariances"] = {
                "full": ["component", "feature", "feature_other"],
                "tied": ["feature", "feature_other"],
                "diag": ["component", "feature"],
                "spherical": ["component"],
            }[self.covariance_type]
        coords = {
            "component": np.arange(n_components),
            "feature": np.arange(n_features),
            "feature_other": np.arange(n_features),
        }
        with warnings.catch_warnings():
            # the issue asks for the draws' log-likelihood in sample_stats; ArviZ
            # would rather hold pointwise log-likelihoods in a group of their own
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return arviz.from_dict(
                posterior=posterior,
                sample_stats={"log_likelihood": self.log_likelihood_draws_},
                coords=coords, dims=dims,
            )

    def summary(self, **kwargs):
        """Mean, sd, effective sample sizes and R-hat of every parameter, from
        ``arviz.summary`` of :meth:`to_arviz` (``kwargs`` are passed to it).

        Returns
        -------
        pandas.DataFrame
        """
        import arviz

        return arviz.summary(self.to_arviz(), **kwargs)


def _permuted(draws, order):
    """draws[c, t, order[c, t]] for arrays with a (chain, draw, component) lead."""
    chains, n_draws = order.shape[:2]
    c = np.arange(chains)[:, None, None]
    t = np.arange(n_draws)[None, :, None]
    return draws[c, t, order]


def relabel(means):
    """The permutation (chain, draw, K) that best matches each draw's means to a
    reference (see ``GibbsGaussianMixture``'s Notes)."""
    chains, n_draws, n_components, _ = means.shape
    flat = means.reshape(chains * n_draws, n_components, -1)
    reference = flat[n_draws - 1]
    order = np.empty((chains * n_draws, n_components), dtype=np.int64)
    for _ in range(RELABEL_ROUNDS):
        for start in range(0, flat.shape[0], RELABEL_BATCH):
            batch = flat[start:start + RELABEL_BATCH]
            # cost[t, i, j]: draw t's component j as the reference's component i
            cost = np.sum((reference[None, :, None, :] - batch[:, None, :, :]) ** 2,
                          axis=-1)
            order[start:start + RELABEL_BATCH] = _optimal_assignments(cost)
        reference = flat[np.arange(flat.shape[0])[:, None], order].mean(axis=0)
    return order.reshape(chains, n_draws, n_components)


def _optimal_assignments(cost):
    """For each (K, K) cost matrix of ``cost`` (T, K, K), the columns assigned to
    rows 0..K-1 at least total cost: by comparing every permutation at once for
    K <= ENUMERATED_COMPONENTS (a few microseconds per thousand draws), else one
    ``linear_sum_assignment`` per draw."""
    n_components = cost.shape[1]
    if n_components > ENUMERATED_COMPONENTS:
        return np.array([linear_sum_assignment(c)[1] for c in cost],
                        dtype=np.int64).reshape(-1, n_components)
    permutations = _permutations(n_components)
    rows = np.arange(n_components)
    totals = cost[:, rows, permutations].sum(axis=-1)  # (T, permutations)
    return permutations[np.argmin(totals, axis=1)]


@functools.cache
def _permutations(n_components):
    return np.array(list(itertools.permutations(range(n_components))),
                    dtype=np.int64)
