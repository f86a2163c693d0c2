"""fastgmm's ASV suite.

ASV imports this directory as the package ``benchmarks`` without putting its parent,
``asv_bench/``, on ``sys.path``; the benchmarks' shared ``harness`` lives there.
"""

import os
import sys

_ASV_BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ASV_BENCH not in sys.path:
    sys.path.insert(0, _ASV_BENCH)
