"""``fastgmm.load``: the estimator a ``save`` file records, rebuilt.

It lives above the estimators (which write files through ``_persistence``) so
that reading a file imports the classes without an import cycle.
"""

import io
import os

from ._bayesian_mixture import BayesianGaussianMixture
from ._gaussian_mixture import GaussianMixture
from ._persistence import read_model

ESTIMATORS = {cls.__name__: cls for cls in (GaussianMixture, BayesianGaussianMixture)}


def load(path: str | os.PathLike | io.IOBase):
    """Read a Gaussian mixture written by ``GaussianMixture.save`` or
    ``BayesianGaussianMixture.save``.

    The file is read with ``np.load(path, allow_pickle=False)``: no code from the
    file is ever executed. Every member is checked before the model is built.

    Parameters
    ----------
    path : str, path-like or binary file object
        A file written by :meth:`fastgmm.GaussianMixture.save` or
        :meth:`fastgmm.BayesianGaussianMixture.save`.

    Returns
    -------
    model : fastgmm.GaussianMixture or fastgmm.BayesianGaussianMixture
        The estimator the file records, with the saved constructor parameters and
        every fitted attribute restored with its dtype (and ``partial_fit``'s
        state, when the file holds it).

    Raises
    ------
    ValueError
        If the file is not a fastgmm model file (not an ``.npz`` archive, a pickle, an
        arbitrary ``.npz``), is truncated or corrupted, was written by a newer format
        version, or holds members that are missing, unexpected, of the wrong dtype or
        shape, or inconsistent with each other. The message names the problem.
    OSError
        If the file cannot be opened (for example it does not exist).

    See Also
    --------
    fastgmm.GaussianMixture.save : Write the file.
    """
    return read_model(path, ESTIMATORS)
