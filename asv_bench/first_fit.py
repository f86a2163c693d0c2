"""The first fit in a fresh environment: compilation included, per covariance type.

For each covariance type, a new Numba cache folder, then two processes that each
run one whole default ``GaussianMixture.fit`` (k-means start) on the same data:
the first compiles what the fit uses, the second should load it all from the
cache. Prints a Markdown table of the fit's wall time in each (the whole
process's time too, imports included).

    PYTHONPATH=. python asv_bench/first_fit.py [--types full diag] [--shape 2000 3 3]

``--shape`` is rows, features, components. The package is the one Python
imports (``PYTHONPATH=.`` for the source tree).
"""

import argparse
import os
import subprocess
import sys
import tempfile

_FIT = r"""
import sys, time, warnings
start = time.perf_counter()
import numpy as np
import fastgmm
warnings.simplefilter("ignore")
ctype, n, d, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
X = np.random.RandomState(0).standard_normal((n, d))
before = time.perf_counter()
fastgmm.GaussianMixture(k, covariance_type=ctype, random_state=0).fit(X)
after = time.perf_counter()
print(after - before, after - start)
"""

TYPES = ("full", "tied", "diag", "spherical")


def timed_fits(ctype, shape):
    """(first process, second process), each (fit s, whole process s)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        times = []
        for _ in range(2):
            done = subprocess.run([sys.executable, "-c", _FIT, ctype, *map(str, shape)],
                                  env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"the {ctype} fit failed:\n{done.stderr}")
            fit, whole = map(float, done.stdout.split()[-2:])
            times.append((fit, whole))
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", nargs="+", choices=TYPES, default=list(TYPES))
    parser.add_argument("--shape", nargs=3, type=int, default=[2000, 3, 3],
                        metavar=("ROWS", "FEATURES", "COMPONENTS"))
    args = parser.parse_args(argv)
    print("| covariance_type | first fit, fresh cache (s) | whole first process (s) "
          "| fit in a second process (s) | whole second process (s) |")
    print("|---|---|---|---|---|")
    for ctype in args.types:
        (first, first_whole), (second, second_whole) = timed_fits(ctype, args.shape)
        print(f"| {ctype} | {first:.1f} | {first_whole:.1f} | {second:.2f} "
              f"| {second_whole:.2f} |", flush=True)


if __name__ == "__main__":
    main()
