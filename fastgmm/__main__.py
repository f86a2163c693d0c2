"""``python -m fastgmm``: the same as the ``fastgmm`` command."""

import sys

from fastgmm.cli import main

if __name__ == "__main__":
    sys.exit(main())
