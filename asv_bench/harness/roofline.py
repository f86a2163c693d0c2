"""The useful work of one EM iteration, and the machine's dgemm rate to hold it to.

A fit's flop rate (:func:`flops_per_iteration` over its time per iteration) next
to the rate of a large square matrix product in the same process and on the same
threads (:func:`dgemm_rate`) says how far a kernel is from what the cores can do.
"""

import time

import numpy as np

#: Seconds one timed matrix product should take.
DGEMM_SECONDS = 0.2


def flops_per_iteration(n_samples, n_features, n_components, covariance_type):
    """Floating-point operations one EM iteration needs, E-step and M-step
    statistics, counted for the cheapest textbook formulation.

    A multiply-add counts as 2, and ``exp`` and ``log`` as 1 each. Only the terms
    proportional to N are counted: the M-step's parameter updates and Cholesky
    factorisations cost O(K D³), negligible when N >> K D. With N points, K
    components and D features:

    - **responsibilities**, for every covariance type, per point and component:
      subtract the row's maximum, ``exp``, add to the row's sum, scale: 4, and
      the maximum itself: 1. Together **5**.
    - **full**, per point and component: E-step, centre x - mu_k (D), triangular
      product with the precision factor (D(D+1)/2 multiply-adds: D(D+1)), squared
      norm (2D), log-normaliser (2): D² + 4D + 2; M-step statistics, r (1), r x
      (D) added to the first moment (D), the lower triangle of (r x) xᵀ
      (D(D+1)): D² + 3D + 1. Per iteration **N K (2D² + 7D + 8)**.
    - **tied**: the shared triangular factor transforms each point once
      (centre D, product D(D+1)) and the shared scatter is accumulated once per
      point (D(D+1)): 2D² + 3D per point; per point and component, the squared
      distance to the transformed mean (3D) and log-normaliser (2), r and r x
      added (2D + 1): 5D + 3. Per iteration **N (2D² + 3D) + N K (5D + 8)**.
    - **diag**, as products over [x², x, 1]: x² once per point (D); per point
      and component, the log-density as a dot product of length 2D + 1 with the
      component's coefficients (4D + 2), r, r x and r x² added (4D + 1). Per
      iteration **N D + N K (8D + 8)**.
    - **spherical**, as products over [x, ‖x‖², 1]: ‖x‖² once per point (2D);
      per point and component, x·mu_k (2D) combined with ‖x‖², ‖mu_k‖², the
      precision and the log-normaliser (4), r, r x and r ‖x‖² added (2D + 3).
      Per iteration **2 N D + N K (4D + 12)**.

    Returns
    -------
    float, the operations of one iteration
    """
    n, d, k = float(n_samples), float(n_features), float(n_components)
    responsibilities = 5.0
    if covariance_type == "full":
        return n * k * (2 * d * d + 7 * d + 3 + responsibilities)
    if covariance_type == "tied":
        return n * (2 * d * d + 3 * d) + n * k * (5 * d + 3 + responsibilities)
    if covariance_type == "diag":
        return n * d + n * k * (8 * d + 3 + responsibilities)
    if covariance_type == "spherical":
        return 2 * n * d + n * k * (4 * d + 7 + responsibilities)
    raise ValueError(f"unknown covariance_type {covariance_type!r}")


def dgemm_rate(seconds=DGEMM_SECONDS, repeat=3, dtype=np.float64):
    """Floating-point operations per second of a square NumPy matrix product.

    The order n is chosen so that one product takes about ``seconds`` (the
    product's 2n³ operations scaled from a first, smaller one); the best of
    ``repeat`` products is returned, the machine's attainable rate. It runs on the
    threads the BLAS pool has (limit them with threadpoolctl, as the fits are).

    Returns
    -------
    (rate in operations per second, n)
    """
    rng = np.random.default_rng(0)
    order = 512
    while True:
        a = rng.standard_normal((order, order)).astype(dtype)
        b = rng.standard_normal((order, order)).astype(dtype)
        a @ b  # the pool's threads started, the buffers touched
        start = time.perf_counter()
        a @ b
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 2 or order >= 8_192:
            break
        scale = (seconds / max(elapsed, 1e-6)) ** (1.0 / 3.0)
        order = min(8_192, int(order * min(scale, 4.0)) // 64 * 64 + 64)
    best = elapsed
    for _ in range(repeat - 1):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2.0 * order**3 / best, order
