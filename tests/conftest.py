import os

import pytest
import torch as th

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _single_thread_torch() -> None:
    # Tests run in parallel workers on 2 cores: one torch thread each keeps them from fighting.
    th.set_num_threads(1)
