"""Progress messages: verbose=1 per iteration (lower bound, change, time),
verbose=2 also each initialisation."""

import re

import numpy as np

from fastgmm import GaussianMixture

X = np.random.RandomState(0).randn(2000, 2)


def test_verbose_1_prints_lower_bound_change_and_time(capsys):
    gm = GaussianMixture(2, verbose=1, verbose_interval=1, random_state=0).fit(X)
    lines = [line for line in capsys.readouterr().out.splitlines() if "Iteration" in line]
    assert len(lines) == gm.n_iter_
    pattern = re.compile(r"Iteration (\d+)\s+lower bound (\S+)\s+change (\S+)\s+time \S+s")
    for n, (line, bound) in enumerate(zip(lines, gm.lower_bounds_), start=1):
        match = pattern.search(line)
        assert match, line
        assert int(match.group(1)) == n
        assert abs(float(match.group(2)) - bound) < 1e-5
    assert "Initialization 0" not in capsys.readouterr().out


def test_verbose_2_announces_each_initialisation(capsys):
    GaussianMixture(2, verbose=2, verbose_interval=3, n_init=3, random_state=0).fit(X)
    out = capsys.readouterr().out
    for init in range(3):
        assert f"Initialization {init}" in out
    assert out.count("Initialization converged") + out.count("did not converge") == 3


def test_verbose_0_is_silent(capsys):
    GaussianMixture(2, random_state=0).fit(X)
    assert capsys.readouterr().out == ""
