"""The random number generators a training run draws from: Python's ``random``, numpy's
global generator, torch's CPU generator and, once CUDA is initialised, torch's CUDA
generators. Their states are captured in types that a checkpoint loaded with
``torch.load(weights_only=True)`` gives back, and put back exactly."""
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch


def capture_rng_state(all_devices: bool = False) -> dict:
    """The states of the Python, numpy, torch CPU and (initialised) CUDA generators.

    ``cuda`` holds the state of this process's current device, or with ``all_devices``
    the list of every device's state. Tuples, tensors and numbers only, so the dict can
    be kept in a checkpoint."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(python=random.getstate(),
                 numpy=dict(kind=kind, keys=torch.from_numpy(keys.astype(np.int64)),
                            pos=int(pos), has_gauss=int(has_gauss), cached=float(cached)),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = (torch.cuda.get_rng_state_all() if all_devices
                         else torch.cuda.get_rng_state())
    return state


def restore_rng_state(state: dict) -> None:
    """Put back the generator states of :func:`capture_rng_state` (also after a round
    trip through a checkpoint, which may give lists for tuples)."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    numpy = state['numpy']
    np.random.set_state((numpy['kind'], numpy['keys'].numpy().astype(np.uint32),
                         numpy['pos'], numpy['has_gauss'], numpy['cached']))
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available():
        if isinstance(cuda, (list, tuple)):
            torch.cuda.set_rng_state_all(cuda)
        else:
            torch.cuda.set_rng_state(cuda)


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Put back every generator's state (all CUDA devices included) on leaving, so that
    what runs inside draws nothing the code around it would see."""
    state = capture_rng_state(all_devices=True)
    try:
        yield
    finally:
        restore_rng_state(state)
