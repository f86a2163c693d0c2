"""Peak memory beyond X of a fit with missing values against the complete-data fit.

Each case runs in a fresh subprocess: it builds X (points around
``--components`` centres; for the missing case ``--missing`` of the values
replaced by NaN at random), fits it once with ``max_iter=1`` (compiling and
loading every kernel the measured fit runs), hands free heap
pages back (``malloc_trim``), resets the high-water mark (5 into
``/proc/self/clear_refs``), reads ``VmRSS``, fits
``GaussianMixture(K, max_iter=3, tol=0, init_params=...)`` and reads ``VmHWM``.

    PYTHONPATH=. python asv_bench/missing_memory.py --rows 1000000

run from the repository root (without ``PYTHONPATH=.`` an installed fastgmm is
measured rather than this checkout's). Prints, per covariance type and
initialisation, the MiB beyond X of the complete and the missing-value fit
(issue 14: the missing-value fit may add only per-block pattern scratch).
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

from harness.memory import peak_rss_growth
from missing_timing import data_arguments, make_data


def child(spec):
    from fastgmm import GaussianMixture

    X, holes = make_data(spec["rows"], spec["features"], spec["components"],
                         spec["missing"])
    if spec["missing"] > 0:
        X = holes

    def model(max_iter):
        return GaussianMixture(
            spec["components"], covariance_type=spec["type"], max_iter=max_iter,
            tol=0, init_params=spec["init"], random_state=0,
            missing_values="nan",
        )

    # compile, and load every kernel the measured fit runs: a subsample can take
    # other paths (k-means runs on all the rows of a small X, on a sample of a
    # large one), and loading a kernel costs resident memory of its own
    model(1).fit(X)
    grown, fitted = peak_rss_growth(lambda: model(3).fit(X))
    assert np.isfinite(fitted.means_).all()
    return {"beyond": grown, "x": X.nbytes}


def run_child(spec):
    env = dict(os.environ)
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join(
        [here, os.getcwd(), env.get("PYTHONPATH", "")]
    )
    done = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
        capture_output=True, text=True, env=env, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_arguments(parser)
    parser.add_argument("--inits", default="random_from_data,kmeans")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    import fastgmm

    print(f"fastgmm from {os.path.dirname(fastgmm.__file__)}")
    print(f"{args.rows} x {args.features} x {args.components}, "
          f"{args.missing:.0%} missing; MiB beyond X")
    print(f"{'type':6} {'init':18} {'X':>8} {'complete':>9} {'missing':>9}")
    for ctype in args.types.split(","):
        for init in args.inits.split(","):
            spec = {"rows": args.rows, "features": args.features,
                    "components": args.components, "type": ctype, "init": init}
            complete = run_child({**spec, "missing": 0.0})
            holes = run_child({**spec, "missing": args.missing})
            mib = 2.0**20
            print(f"{ctype:6} {init:18} {complete['x'] / mib:8.1f} "
                  f"{complete['beyond'] / mib:9.1f} {holes['beyond'] / mib:9.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
