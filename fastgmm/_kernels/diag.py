"""Diagonal covariance, and spherical as its special case (one variance per component).

Parameters arrive as ``factor[k, 0, a]`` = the precision 1 / sigma²_{k,a};
log N(x | k) = log_norm_k - 1/2 sum_a factor[k, 0, a] (x_a - mu_{k,a})². Diag's
layout adds factor[k, 1, a] = 1 / sigma_{k,a} and aux[k, a] = mu_{k,a} / sigma_{k,a},
so that each standardised distance is one multiply-add. A spherical model
passes ``factor`` of shape (K, 1, 1): its one precision multiplies the squared
distance once per point, and the passes' spherical kernels (``log_prob_spherical``,
``add_stats_spherical``) expand that distance around the mean of
the means, one multiply-add per feature and component; below TILE features it
takes diag's exact kernels (``log_prob_diag_narrow``, ``add_stats_diag_narrow``).
The block is held transposed in ``work`` (see ``common``). The log-densities
take the features four at a time, so a sweep over the points does four
features' work for one load and store of the running sum; the statistics take
four components at a time, whose sums stay in registers.
"""

from numba import njit

from .._config import INLINE_JIT, JIT, compiled_only
from .common import (
    TILE,
    compact_nonzero,
    component_weights,
    filled_value,
    narrow_weights,
    row_weight,
)

# A component with a mean more than this many widths from the origin (in any
# feature) takes the exact sweep of ``log_prob_diag``: the scaled form's
# standardised distances are off by about eps times this
SCALED_LIMIT = 256.0

# A spherical component whose mean is more than this many widths from the
# mean of the means takes the exact sweep of ``log_prob_spherical``: the
# expanded squared distance is off by about eps (||y||² + ||m||²) lambda, at
# most a few eps times this squared near the component
SPHERICAL_LIMIT = 64.0


@compiled_only(**JIT)
def log_prob_diag(n_features, n_rows, means, factor, log_norm, aux, out, work):
    """out[k, i] = log_norm[k] - 1/2 sum_a factor[k, 0, a] (x_ia - means[k, a])²
    for the block in work[:D] (spherical models have kernels of their own,
    ``log_prob_spherical``).

    With factor (K, 2, D), factor[k, 1] = g = sqrt(factor[k, 0]) and
    aux[k] = g means[k] (``_covariance.Diag.kernel_layout``), each standardised
    distance is one multiply-add, u = g x - aux, where the exact form,
    t = x - mu then factor t², takes one operation more. A component with an
    |aux| beyond SCALED_LIMIT takes the exact form, and so does every
    component with factor (K, 1, D) (the Gibbs draws' layout). Any D; below
    TILE features the passes take ``log_prob_diag_narrow`` instead.
    """
    scaled = factor.shape[1] == 2
    for k in range(means.shape[0]):
        row = out[k]
        for i in range(n_rows):
            row[i] = 0.0
        if scaled and _within_limit(aux[k]):
            _add_scaled_sq_distances(n_features, n_rows, k, factor, aux, work, row)
        else:
            _add_weighted_sq_distances(n_features, n_rows, means[k], factor[k, 0],
                                       work, row)
        base = log_norm[k]
        for i in range(n_rows):
            row[i] = base - 0.5 * row[i]


@njit(**INLINE_JIT)
def log_prob_diag_narrow(n_features, n_rows, means, factor, log_norm, out, work):
    """``log_prob_diag`` for fewer than TILE features (1 to 3), in the exact
    form whatever ``factor``'s layout, a spherical model's (K, 1, 1) included
    (its one precision read for every feature): a diag or spherical pass whose
    data have so few features compiles this one instead of the tiles
    (``em.accumulate_kernel``)."""
    for k in range(means.shape[0]):
        _log_prob_diag_narrow(k, n_features, n_rows, means, factor, log_norm, out,
                              work)


@compiled_only(**JIT)
def _log_prob_diag_narrow(k, d, n_rows, means, factor, log_norm, out, work):
    """out[k] of ``log_prob_diag`` for fewer than TILE features (1 to 3), in one
    sweep over the points, exact form with the precisions factor[k, 0] (the
    sweeps per feature, with the zeroing and the final scaling, made four at
    D = 2). Two loops, for D = 3 and for D <= 2: a single feature reads its
    row twice, with a zero precision for the second. Rows are indexed in
    place, not taken as views (``common.add_component_stats_narrow``)."""
    j1 = min(1, d - 1)
    last = factor.shape[2] - 1  # 0: a spherical model's one precision
    c0, c1 = means[k, 0], means[k, j1]
    f0 = factor[k, 0, 0]
    f1 = factor[k, 0, min(1, last)] if d > 1 else 0.0
    base = log_norm[k]
    if d == 3:
        c2, f2 = means[k, 2], factor[k, 0, min(2, last)]
        for i in range(n_rows):
            t0, t1, t2 = work[0, i] - c0, work[1, i] - c1, work[2, i] - c2
            out[k, i] = base - 0.5 * ((f0 * t0 * t0 + f1 * t1 * t1) + f2 * t2 * t2)
        return
    for i in range(n_rows):
        t0, t1 = work[0, i] - c0, work[j1, i] - c1
        out[k, i] = base - 0.5 * (f0 * t0 * t0 + f1 * t1 * t1)


@compiled_only(**JIT)
def _within_limit(offsets):
    """Whether every |offsets[a]| is at most SCALED_LIMIT."""
    largest = 0.0
    for value in offsets:
        largest = max(largest, abs(value))
    return largest <= SCALED_LIMIT


@compiled_only(**JIT)
def _add_scaled_sq_distances(n_features, n_rows, k, factor, aux, work, row):
    """row[i] += sum_a u_ia², u_ia = factor[k, 1, a] work[a, i] - aux[k, a]
    (see ``log_prob_diag``), four features per sweep."""
    d = n_features
    whole = d - d % TILE
    for a in range(0, whole, TILE):
        g0, g1 = factor[k, 1, a], factor[k, 1, a + 1]
        g2, g3 = factor[k, 1, a + 2], factor[k, 1, a + 3]
        h0, h1, h2, h3 = aux[k, a], aux[k, a + 1], aux[k, a + 2], aux[k, a + 3]
        x0, x1, x2, x3 = work[a], work[a + 1], work[a + 2], work[a + 3]
        for i in range(n_rows):
            u0 = g0 * x0[i] - h0
            u1 = g1 * x1[i] - h1
            u2 = g2 * x2[i] - h2
            u3 = g3 * x3[i] - h3
            row[i] += u0 * u0 + u1 * u1 + u2 * u2 + u3 * u3
    for a in range(whole, d):
        g = factor[k, 1, a]
        h = aux[k, a]
        x = work[a]
        for i in range(n_rows):
            u = g * x[i] - h
            row[i] += u * u


@compiled_only(**JIT)
def _add_weighted_sq_distances(n_features, n_rows, center, weight, work, row):
    """row[i] += sum_a weight[a] (work[a, i] - center[a])²."""
    whole = n_features - n_features % TILE
    for a in range(0, whole, TILE):
        c0, c1, c2, c3 = center[a], center[a + 1], center[a + 2], center[a + 3]
        f0, f1, f2, f3 = weight[a], weight[a + 1], weight[a + 2], weight[a + 3]
        x0, x1, x2, x3 = work[a], work[a + 1], work[a + 2], work[a + 3]
        for i in range(n_rows):
            t0 = x0[i] - c0
            t1 = x1[i] - c1
            t2 = x2[i] - c2
            t3 = x3[i] - c3
            row[i] += f0 * t0 * t0 + f1 * t1 * t1 + f2 * t2 * t2 + f3 * t3 * t3
    for a in range(whole, n_features):
        c = center[a]
        f = weight[a]
        x = work[a]
        for i in range(n_rows):
            t = x[i] - c
            row[i] += f * t * t


@compiled_only(**JIT)
def _add_sq_distances(n_features, n_rows, center, work, row):
    """row[i] += sum_a (work[a, i] - center[a])²."""
    whole = n_features - n_features % TILE
    for a in range(0, whole, TILE):
        c0, c1, c2, c3 = center[a], center[a + 1], center[a + 2], center[a + 3]
        x0, x1, x2, x3 = work[a], work[a + 1], work[a + 2], work[a + 3]
        for i in range(n_rows):
            t0 = x0[i] - c0
            t1 = x1[i] - c1
            t2 = x2[i] - c2
            t3 = x3[i] - c3
            row[i] += t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3
    for a in range(whole, n_features):
        c = center[a]
        x = work[a]
        for i in range(n_rows):
            t = x[i] - c
            row[i] += t * t


@compiled_only(**JIT)
def mean_of_means(means, out):
    """out[a] = the mean over components of means[:, a] (summed in order)."""
    n_components = means.shape[0]
    for a in range(means.shape[1]):
        total = 0.0
        for k in range(n_components):
            total += means[k, a]
        out[a] = total / n_components


@compiled_only(**JIT)
def centre_on_means(n_features, n_rows, means, work):
    """Prepare the block in work[:D] for the spherical kernels: work row 3D+3 =
    c, the mean of the means; rows 2D..3D-1 = y = x - c; row 3D+4 = ||y||²."""
    d = n_features
    center = work[3 * d + 3]
    norms = work[3 * d + 4]
    mean_of_means(means, center)
    for i in range(n_rows):
        norms[i] = 0.0
    for a in range(d):
        c = center[a]
        x = work[a]
        y = work[2 * d + a]
        for i in range(n_rows):
            v = x[i] - c
            y[i] = v
            norms[i] += v * v


@compiled_only(**JIT)
def log_prob_spherical(n_features, n_rows, means, factor, log_norm, out, work):
    """``log_prob_diag`` for a spherical ``factor`` (K, 1, 1), on a block that
    ``centre_on_means`` prepared: ||x - mu_k||² = ||y||² - 2 m_k.y + ||m_k||²
    with y = x - c and m_k = mu_k - c, one multiply-add per feature where the
    difference takes two; the products m_k.y are taken four components and
    four features per sweep (``_mean_products``). The expansion loses about
    eps (||y||² + ||m_k||²) lambda of the squared distance, so a component with
    lambda ||m_k||² beyond SPHERICAL_LIMIT² (its mean more than SPHERICAL_LIMIT
    widths from c) takes the exact form; near the mean of a component that
    does not, the error in its log-density is at most a few eps
    SPHERICAL_LIMIT² (about 1e-12)."""
    d = n_features
    center = work[3 * d + 3]
    filled = 0
    k0 = k1 = k2 = 0
    for k in range(means.shape[0]):
        squared = 0.0
        for a in range(d):
            m = means[k, a] - center[a]
            squared += m * m
        if factor[k, 0, 0] * squared > SPHERICAL_LIMIT * SPHERICAL_LIMIT:
            row = out[k]
            for i in range(n_rows):
                row[i] = 0.0
            _add_sq_distances(n_features, n_rows, means[k], work, row)
            base = log_norm[k]
            scale = -0.5 * factor[k, 0, 0]
            for i in range(n_rows):
                row[i] = base + scale * row[i]
            continue
        if filled == 0:
            k0 = k
        elif filled == 1:
            k1 = k
        elif filled == 2:
            k2 = k
        filled += 1
        if filled == GROUP:
            filled = 0
            _mean_products(d, n_rows, (k0, k1, k2, k), means, center, out, work)
            for j in (k0, k1, k2, k):
                _spherical_log_density(d, n_rows, j, means, factor, log_norm, out,
                                       work)
    for j in range(filled):
        k = int(k0 if j == 0 else (k1 if j == 1 else k2))
        _mean_product(d, n_rows, k, means, center, out[k], work)
        _spherical_log_density(d, n_rows, k, means, factor, log_norm, out, work)


@compiled_only(**JIT)
def _spherical_log_density(n_features, n_rows, k, means, factor, log_norm, out,
                           work):
    """out[k, i] = log_norm[k] - lambda/2 (||y_i||² - 2 out[k, i] + ||m_k||²)
    with out[k, i] = m_k.y_i on entry (``log_prob_spherical``)."""
    d = n_features
    center = work[3 * d + 3]
    norms = work[3 * d + 4]
    squared = 0.0
    for a in range(d):
        m = means[k, a] - center[a]
        squared += m * m
    precision = factor[k, 0, 0]
    base = log_norm[k] - 0.5 * precision * squared
    half = 0.5 * precision
    row = out[k]
    for i in range(n_rows):
        row[i] = base + precision * row[i] - half * norms[i]


@compiled_only(**JIT)
def _mean_product(n_features, n_rows, k, means, center, row, work):
    """row[i] = sum_a m_a y_ia, m = means[k] - center, y in work rows 2D..3D-1
    (``_mean_products`` for one component)."""
    d = n_features
    for i in range(n_rows):
        row[i] = 0.0
    for a in range(d):
        m = means[k, a] - center[a]
        y = work[2 * d + a]
        for i in range(n_rows):
            row[i] += m * y[i]


@compiled_only(**JIT)
def _mean_products(n_features, n_rows, members, means, center, out, work):
    """out[k, i] = sum_a m_ka y_ia for the four distinct components k in
    ``members``, m_k = means[k] - center, y in work rows 2D..3D-1:
    four features of four components per sweep, sixteen multiply-adds per
    eight loads and four stores."""
    d = n_features
    whole = d - d % TILE
    k0, k1, k2, k3 = members
    o0, o1, o2, o3 = out[k0], out[k1], out[k2], out[k3]
    for i in range(n_rows):
        o0[i] = 0.0
        o1[i] = 0.0
        o2[i] = 0.0
        o3[i] = 0.0
    for a in range(0, whole, TILE):
        c0, c1, c2, c3 = center[a], center[a + 1], center[a + 2], center[a + 3]
        m00, m01 = means[k0, a] - c0, means[k0, a + 1] - c1
        m02, m03 = means[k0, a + 2] - c2, means[k0, a + 3] - c3
        m10, m11 = means[k1, a] - c0, means[k1, a + 1] - c1
        m12, m13 = means[k1, a + 2] - c2, means[k1, a + 3] - c3
        m20, m21 = means[k2, a] - c0, means[k2, a + 1] - c1
        m22, m23 = means[k2, a + 2] - c2, means[k2, a + 3] - c3
        m30, m31 = means[k3, a] - c0, means[k3, a + 1] - c1
        m32, m33 = means[k3, a + 2] - c2, means[k3, a + 3] - c3
        y0, y1 = work[2 * d + a], work[2 * d + a + 1]
        y2, y3 = work[2 * d + a + 2], work[2 * d + a + 3]
        for i in range(n_rows):
            v0, v1, v2, v3 = y0[i], y1[i], y2[i], y3[i]
            o0[i] += m00 * v0 + m01 * v1 + m02 * v2 + m03 * v3
            o1[i] += m10 * v0 + m11 * v1 + m12 * v2 + m13 * v3
            o2[i] += m20 * v0 + m21 * v1 + m22 * v2 + m23 * v3
            o3[i] += m30 * v0 + m31 * v1 + m32 * v2 + m33 * v3
    for a in range(whole, d):
        c = center[a]
        m0, m1, m2, m3 = means[k0, a] - c, means[k1, a] - c, means[k2, a] - c, \
            means[k3, a] - c
        y = work[2 * d + a]
        for i in range(n_rows):
            v = y[i]
            o0[i] += m0 * v
            o1[i] += m1 * v
            o2[i] += m2 * v
            o3[i] += m3 * v


# Components whose first moments one sweep over the block adds in a spherical
# model (``_add_spherical_group``), and the most whose moments diag's sweep adds
# in a narrower sweep (``_group_sums``).
GROUP = 4

# Components whose first and second moments one sweep over the block adds in a
# diag model (``_add_expanded_group``, ``_group_sums``).
WIDE_GROUP = 8

# A block's expanded sums of one component and feature are kept when the
# weighted spread of its points there is at least 1/EXPANDED_LIMIT of their
# squared mean around the shift; otherwise moving them to the component's mean
# would lose more than about EXPANDED_LIMIT * eps of the spread, and they are
# summed again around the mean (``_add_expanded_group``).
EXPANDED_LIMIT = 1024.0


@compiled_only(**JIT)
def add_stats_diag(n_features, start, n_rows, resp, sample_weight, means, s0, s1,
                   s2, work, idx):
    """Add the block's per-feature statistics: s0[k] += r, s1[k] += r d,
    s2[k, 0] += r d², with r = resp * weight and d = x - means[k].

    Components with r > 0 on most of the block's points are taken WIDE_GROUP
    at a time in expanded form: around c, the mean of the means, one sweep per
    feature adds sum r y and sum r y² (y = x - c) of eight components, two
    multiply-adds per point and component where the centred form takes four
    operations; each block's sums are then moved to the component's mean (the
    last dense components make a group padded with repeats, swept four at a
    time where they are four or fewer). The
    other components take ``add_component_stats_diag``: the centred sums, over
    the points with r > 0 copied together when they are few, so far components
    cost almost nothing.
    Work rows 3D+1..3D+3 hold the per-component counts and masses and c, so the
    grouped form needs K and D at most a block's width (else every component
    takes the centred form). Any D; below TILE features the passes take
    ``add_stats_diag_narrow`` instead.
    """
    _add_stats_grouped(False, n_features, start, n_rows, resp, sample_weight,
                       means, s0, s1, s2, work, idx)


@compiled_only(**JIT)
def add_stats_diag_narrow(n_features, start, n_rows, resp, sample_weight, means,
                          s0, s1, s2, work):
    """``add_stats_diag`` for fewer than TILE features (1 to 3), also a
    spherical model's (which sums s2[k, 0] over the features): per component,
    one sweep over every point adds its mass and its moments around its mean,
    rows indexed in place (``common.add_component_stats_narrow``). Two loops,
    for D = 3 and for D <= 2 (a single feature reads its row twice and its
    second's sums are dropped)."""
    d = n_features
    j1 = min(1, d - 1)
    for k in range(means.shape[0]):
        rows, own = narrow_weights(resp, k, sample_weight, start, n_rows, work,
                                   3 * d)
        c0, c1 = means[k, 0], means[k, j1]
        total = p0 = p1 = q0 = q1 = 0.0
        if d == 3:
            c2 = means[k, 2]
            p2 = q2 = 0.0
            for i in range(n_rows):
                w = rows[own, i]
                t0, t1, t2 = work[0, i] - c0, work[1, i] - c1, work[2, i] - c2
                u0, u1, u2 = w * t0, w * t1, w * t2
                total += w
                p0 += u0
                p1 += u1
                p2 += u2
                q0 += u0 * t0
                q1 += u1 * t1
                q2 += u2 * t2
            s1[k, 2] += p2
            s2[k, 0, 2] += q2
        else:
            for i in range(n_rows):
                w = rows[own, i]
                t0, t1 = work[0, i] - c0, work[j1, i] - c1
                u0, u1 = w * t0, w * t1
                total += w
                p0 += u0
                p1 += u1
                q0 += u0 * t0
                q1 += u1 * t1
        s0[k] += total
        s1[k, 0] += p0
        s2[k, 0, 0] += q0
        if d > 1:
            s1[k, 1] += p1
            s2[k, 0, 1] += q1


@compiled_only(**JIT)
def add_stats_spherical(n_features, start, n_rows, resp, sample_weight, means, s0,
                        s1, s2, work, idx):
    """``add_stats_diag`` for a spherical model, TILE features or more (below,
    the passes take ``add_stats_diag_narrow``), on a block that
    ``centre_on_means`` prepared: a component may add its whole second moment
    sum_a s2 to s2[k, 0, 0], as a spherical model reads only the sum over
    features (``_add_spherical_group``). A function apart, so that a diag pass
    does not compile the spherical sums, nor a spherical pass diag's."""
    _add_stats_grouped(True, n_features, start, n_rows, resp, sample_weight,
                       means, s0, s1, s2, work, idx)


@njit(**INLINE_JIT)
def _add_stats_grouped(spherical, n_features, start, n_rows, resp, sample_weight,
                       means, s0, s1, s2, work, idx):
    """The body of ``add_stats_diag`` (``spherical`` False) and
    ``add_stats_spherical`` (True), inlined where ``spherical`` is a constant."""
    d = n_features
    n_components = means.shape[0]
    width = work.shape[1]
    if n_components > width or d > width:
        for k in range(n_components):
            add_component_stats_diag(k, n_features, start, n_rows, resp,
                                     sample_weight, means, s0, s1, s2, work, idx)
        return
    counts = work[3 * d + 1]
    totals = work[3 * d + 2]
    center = work[3 * d + 3]
    _component_masses(n_rows, start, resp, sample_weight, counts, totals)
    if not spherical:  # a spherical block has c already (``centre_on_means``)
        mean_of_means(means, center)
    # the group's components in idx[:size]; a sparse component's compaction
    # writes at most n_rows / 2 indices, into idx[size:]
    size = GROUP if spherical else WIDE_GROUP
    members = idx[:size]
    filled = 0
    for k in range(n_components):
        if 2.0 * counts[k] <= n_rows:
            if counts[k] > 0.0:
                add_component_stats_diag(k, n_features, start, n_rows, resp,
                                         sample_weight, means, s0, s1, s2, work,
                                         idx[size:])
            continue
        members[filled] = k
        filled += 1
        if filled == size:
            # int(): a literal count would compile the group functions again
            _add_group(spherical, d, start, n_rows, members, int(filled), resp,
                       sample_weight, means, s0, s1, s2, work)
            filled = 0
    if filled > 0:
        # the last dense components, the group padded with its first (whose
        # extra sums are dropped): a sweep of four costs little more than one,
        # and diag's of five to seven is one of eight
        for j in range(filled, size):
            members[j] = members[0]
        _add_group(spherical, d, start, n_rows, members, int(filled), resp,
                   sample_weight, means, s0, s1, s2, work)


@njit(**INLINE_JIT)
def _add_group(spherical, n_features, start, n_rows, members, n_members, resp,
               sample_weight, means, s0, s1, s2, work):
    """The statistics of the group's first n_members components:
    ``_add_spherical_group`` or ``_add_expanded_group`` (inlined where
    ``spherical`` is a constant, so that each pass compiles one of them)."""
    if spherical:
        _add_spherical_group(n_features, start, n_rows, members, n_members, resp,
                             sample_weight, means, s0, s1, s2, work)
    else:
        _add_expanded_group(n_features, start, n_rows, members, n_members, resp,
                            sample_weight, means, s0, s1, s2, work)


@compiled_only(**JIT)
def _component_masses(n_rows, start, resp, sample_weight, counts, totals):
    """counts[k] = how many of the block's r = resp[k] * weight are nonzero,
    totals[k] = their sum."""
    for k in range(resp.shape[0]):
        own = resp[k]
        total = 0.0
        nonzero = 0.0
        if sample_weight.shape[0] == 0:
            for i in range(n_rows):
                total += own[i]
                nonzero += 1.0 if own[i] != 0.0 else 0.0
        else:
            for i in range(n_rows):
                r = own[i] * sample_weight[start + i]
                total += r
                nonzero += 1.0 if r != 0.0 else 0.0
        counts[k] = nonzero
        totals[k] = total


@compiled_only(**JIT)
def _add_expanded_group(n_features, start, n_rows, members, n_members, resp,
                        sample_weight, means, s0, s1, s2, work):
    """The statistics of the first n_members of the WIDE_GROUP components
    ``members`` (the others repeat one of them): per feature, one sweep adds
    p = sum r y and q = sum r y², y = x - c, of all eight, or of the first four
    where n_members is at most GROUP (``_group_sums``), and ``_moved`` takes
    them to their means. Where a component's moved sums would cancel, its sums
    in that feature are taken again around its mean (``add_diag_moments`` on
    r = resp[k] * weight in work row 3D)."""
    d = n_features
    totals = work[3 * d + 2]
    center = work[3 * d + 3]
    r = work[3 * d]
    for j in range(n_members):
        s0[members[j]] += totals[members[j]]
    for a in range(d):
        c = center[a]
        firsts, seconds = _group_sums(n_rows, work[a], c, start, sample_weight,
                                      resp, members, n_members > GROUP)
        for j in range(n_members):
            k = members[j]
            first, second, kept = _moved(firsts[j], seconds[j], totals[k],
                                         means[k, a] - c)
            if kept:
                s1[k, a] += first
                s2[k, 0, a] += second
            else:
                component_weights(resp, k, sample_weight, start, n_rows, r)
                add_diag_moments(work, a, r, int(1), n_rows, means[k, a:a + 1],
                                 s1[k, a:a + 1], s2[k, 0, a:a + 1])


@compiled_only(**JIT)
def _group_sums(n_rows, x, c, start, sample_weight, resp, members, wide):
    """(p, q) of the eight components ``members`` over the block's values x of
    one feature: p[j] = sum_i r_ji w_i y_i, q[j] = sum_i r_ji w_i y_i²,
    y = x - c, r_j = resp[members[j]] (w_i = 1 unweighted), or of the first
    four where ``wide`` is False (the last four sums then zero). LLVM compiles
    the loop once for each case of ``wide`` and of the weights. Eight
    components take sixteen multiply-adds per nine loads, where four take
    eight per five: one thread, 1M x 16 x 16 diag, the statistics of a pass
    35-37 -> 26.5-29 ms (``asv_bench/stage_profile.py``); at K = 3 or 4, the
    four took 9 ms where a padded eight took 14."""
    r0, r1, r2, r3 = resp[members[0]], resp[members[1]], resp[members[2]], \
        resp[members[3]]
    r4, r5, r6, r7 = resp[members[4]], resp[members[5]], resp[members[6]], \
        resp[members[7]]
    weighted = sample_weight.shape[0] > 0
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 0.0
    q0 = q1 = q2 = q3 = q4 = q5 = q6 = q7 = 0.0
    for i in range(n_rows):
        t = x[i] - c
        u = (sample_weight[start + i] if weighted else 1.0) * t
        v = u * t
        p0 += r0[i] * u
        p1 += r1[i] * u
        p2 += r2[i] * u
        p3 += r3[i] * u
        q0 += r0[i] * v
        q1 += r1[i] * v
        q2 += r2[i] * v
        q3 += r3[i] * v
        if wide:
            p4 += r4[i] * u
            p5 += r5[i] * u
            p6 += r6[i] * u
            p7 += r7[i] * u
            q4 += r4[i] * v
            q5 += r5[i] * v
            q6 += r6[i] * v
            q7 += r7[i] * v
    return (p0, p1, p2, p3, p4, p5, p6, p7), (q0, q1, q2, q3, q4, q5, q6, q7)


@compiled_only(**JIT)
def _add_spherical_group(n_features, start, n_rows, members, n_members, resp,
                         sample_weight, means, s0, s1, s2, work):
    """``_add_expanded_group`` for a spherical model: per feature one sweep adds
    p = sum r y of the four components (y in work rows 2D..3D-1), and one sweep
    adds q = sum r ||y||² (||y||² in row 3D+4), so the second moment costs one
    multiply-add per point and component instead of one per feature. The p of
    member j are kept in work row D + j (of the scratch rows D..2D-1: TILE
    features or more) until ``_moved_spherical`` takes them to the mean."""
    d = n_features
    k0, k1, k2, k3 = members[0], members[1], members[2], members[3]
    r0, r1, r2, r3 = resp[k0], resp[k1], resp[k2], resp[k3]
    totals = work[3 * d + 2]
    norms = work[3 * d + 4]
    firsts = work[d:d + GROUP]
    weighted = sample_weight.shape[0] > 0
    q0 = q1 = q2 = q3 = 0.0
    for i in range(n_rows):
        v = sample_weight[start + i] * norms[i] if weighted else norms[i]
        q0 += r0[i] * v
        q1 += r1[i] * v
        q2 += r2[i] * v
        q3 += r3[i] * v
    whole = d - d % TILE
    for a in range(0, whole, TILE):
        _add_group_firsts(d, a, start, n_rows, r0, r1, r2, r3, sample_weight,
                          work, firsts)
    for a in range(whole, d):
        _add_group_first(d, a, start, n_rows, r0, r1, r2, r3, sample_weight, work,
                         firsts)
    r = work[3 * d]
    moments = (q0, q1, q2, q3)
    for j in range(n_members):
        k = members[j]
        s0[k] += totals[k]
        if not _moved_spherical(k, firsts[j], moments[j], totals[k], means,
                                work[3 * d + 3], s1, s2):
            component_weights(resp, k, sample_weight, start, n_rows, r)
            add_diag_moments(work, int(0), r, d, n_rows, means[k], s1[k], s2[k, 0])


@compiled_only(**JIT)
def _add_group_firsts(n_features, a, start, n_rows, r0, r1, r2, r3, sample_weight,
                      work, firsts):
    """firsts[j, b] = sum_i r_j[i] w_i y_bi (w_i = 1 unweighted) for the four
    components' weights r0..r3 and the features b = a..a+3, y in work rows
    2D..3D-1: sixteen multiply-adds per eight loads."""
    d = n_features
    y0, y1 = work[2 * d + a], work[2 * d + a + 1]
    y2, y3 = work[2 * d + a + 2], work[2 * d + a + 3]
    p00 = p01 = p02 = p03 = p10 = p11 = p12 = p13 = 0.0
    p20 = p21 = p22 = p23 = p30 = p31 = p32 = p33 = 0.0
    weighted = sample_weight.shape[0] > 0
    for i in range(n_rows):
        w = sample_weight[start + i] if weighted else 1.0
        v0, v1, v2, v3 = w * y0[i], w * y1[i], w * y2[i], w * y3[i]
        p00 += r0[i] * v0
        p01 += r0[i] * v1
        p02 += r0[i] * v2
        p03 += r0[i] * v3
        p10 += r1[i] * v0
        p11 += r1[i] * v1
        p12 += r1[i] * v2
        p13 += r1[i] * v3
        p20 += r2[i] * v0
        p21 += r2[i] * v1
        p22 += r2[i] * v2
        p23 += r2[i] * v3
        p30 += r3[i] * v0
        p31 += r3[i] * v1
        p32 += r3[i] * v2
        p33 += r3[i] * v3
    f0, f1, f2, f3 = firsts[0], firsts[1], firsts[2], firsts[3]
    f0[a], f0[a + 1], f0[a + 2], f0[a + 3] = p00, p01, p02, p03
    f1[a], f1[a + 1], f1[a + 2], f1[a + 3] = p10, p11, p12, p13
    f2[a], f2[a + 1], f2[a + 2], f2[a + 3] = p20, p21, p22, p23
    f3[a], f3[a + 1], f3[a + 2], f3[a + 3] = p30, p31, p32, p33


@compiled_only(**JIT)
def _add_group_first(n_features, a, start, n_rows, r0, r1, r2, r3, sample_weight,
                     work, firsts):
    """``_add_group_firsts`` for the one feature a (the features past the last
    whole tile)."""
    d = n_features
    y = work[2 * d + a]
    p0 = p1 = p2 = p3 = 0.0
    weighted = sample_weight.shape[0] > 0
    for i in range(n_rows):
        v = (sample_weight[start + i] if weighted else 1.0) * y[i]
        p0 += r0[i] * v
        p1 += r1[i] * v
        p2 += r2[i] * v
        p3 += r3[i] * v
    firsts[0, a] = p0
    firsts[1, a] = p1
    firsts[2, a] = p2
    firsts[3, a] = p3


@compiled_only(**JIT)
def _moved_spherical(k, first, q, total, means, center, s1, s2):
    """Add component k's block sums, p = first[:D] = sum r y and q = sum r ||y||²
    (total = sum r > 0, y = x - center), moved to its mean: s1[k] += p - total m,
    s2[k, 0, 0] += q - 2 m.p + total ||m||², m = means[k] - center. Returns
    False, adding nothing, when the second would cancel (``_moved``'s test on
    the sums over features)."""
    d = means.shape[1]
    squared = 0.0
    for a in range(d):
        squared += first[a] * first[a]
    if (1.0 + EXPANDED_LIMIT) * squared > EXPANDED_LIMIT * q * total:
        return False
    cross = 0.0
    offset = 0.0
    for a in range(d):
        m = means[k, a] - center[a]
        s1[k, a] += first[a] - total * m
        cross += m * first[a]
        offset += m * m
    s2[k, 0, 0] += q - 2.0 * cross + total * offset
    return True


@compiled_only(**JIT)
def _moved(p, q, total, m):
    """(sum r (y - m), sum r (y - m)², kept) from p = sum r y, q = sum r y² and
    total = sum r > 0; kept is False when the second would cancel: when the
    squared mean p² / total² exceeds EXPANDED_LIMIT times the spread
    q / total - p² / total² (multiplied out by total²)."""
    kept = (1.0 + EXPANDED_LIMIT) * p * p <= EXPANDED_LIMIT * q * total
    return p - total * m, q - 2.0 * m * p + total * m * m, kept


@compiled_only(**JIT)
def add_component_stats_diag(k, n_features, start, n_rows, resp, sample_weight,
                             means, s0, s1, s2, work, idx):
    """Component k's part of ``add_stats_diag`` (work row 3D holds its r)."""
    d = n_features
    r = work[3 * d]
    nonzero = component_weights(resp, k, sample_weight, start, n_rows, r)
    if nonzero == 0:
        return
    m = n_rows
    src = 0
    if 2 * nonzero <= n_rows:
        m = compact_nonzero(r, n_rows, idx)
        for a in range(d):
            for j in range(m):
                work[d + a, j] = work[a, idx[j]]
        src = d
    total = 0.0
    for j in range(m):
        total += r[j]
    s0[k] += total
    add_diag_moments(work, src, r, d, m, means[k], s1[k], s2[k, 0])


@compiled_only(**JIT)
def add_labelled_stats_diag(n_features, X, fill, start, n_rows, labels,
                            sample_weight, means, s0, s1, s2):
    """``add_stats_diag`` (and ``add_stats_spherical``, which may take the same
    per-feature sums) when each row start + i of X belongs to one component,
    labels[i] (k-means' final assignment): each row adds its weight w, w d and
    w d² (d = x - means[k], read along the row, X's NaN as ``fill``: empty for
    none) to its component's sums. Work of the rows' size, where one-hot
    responsibilities had every component scan every row."""
    if fill.shape[0] > 0:
        for i in range(n_rows):
            _add_labelled_row(n_features, X, fill, start + i, labels[i],
                              sample_weight, means, s0, s1, s2)
    else:
        for i in range(n_rows):
            _add_labelled_row(n_features, X, None, start + i, labels[i],
                              sample_weight, means, s0, s1, s2)


@njit(**INLINE_JIT)
def _add_labelled_row(n_features, X, fill, row, k, sample_weight, means, s0, s1,
                      s2):
    w = row_weight(sample_weight, row)
    s0[k] += w
    first = s1[k]
    second = s2[k, 0]
    center = means[k]
    for a in range(n_features):
        t = filled_value(X, fill, row, a) - center[a]
        u = w * t
        first[a] += u
        second[a] += u * t


@compiled_only(**JIT)
def add_diag_moments(work, src, r, n_features, m, center, s1, s2):
    """s1[a] += sum_j r_j t_ja and s2[a] += sum_j r_j t_ja² with
    t_ja = work[src + a, j] - center[a], for j < m."""
    whole = n_features - n_features % TILE
    for a in range(0, whole, TILE):
        c0, c1, c2, c3 = center[a], center[a + 1], center[a + 2], center[a + 3]
        x0, x1 = work[src + a], work[src + a + 1]
        x2, x3 = work[src + a + 2], work[src + a + 3]
        p0 = p1 = p2 = p3 = q0 = q1 = q2 = q3 = 0.0
        for j in range(m):
            w = r[j]
            t0 = x0[j] - c0
            t1 = x1[j] - c1
            t2 = x2[j] - c2
            t3 = x3[j] - c3
            u0 = w * t0
            u1 = w * t1
            u2 = w * t2
            u3 = w * t3
            p0 += u0
            p1 += u1
            p2 += u2
            p3 += u3
            q0 += u0 * t0
            q1 += u1 * t1
            q2 += u2 * t2
            q3 += u3 * t3
        s1[a] += p0
        s1[a + 1] += p1
        s1[a + 2] += p2
        s1[a + 3] += p3
        s2[a] += q0
        s2[a + 1] += q1
        s2[a + 2] += q2
        s2[a + 3] += q3
    for a in range(whole, n_features):
        c = center[a]
        x = work[src + a]
        p = q = 0.0
        for j in range(m):
            t = x[j] - c
            u = r[j] * t
            p += u
            q += u * t
        s1[a] += p
        s2[a] += q
