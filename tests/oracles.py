"""Independent oracles shared by the test files."""
import numpy as np


def vmap_loop(fn, args, in_axes):
    """The oracle for vmap: ``fn`` on each batch element (eagerly: NumPy), stacked on axis 0.

    A function returning a tuple/list gives one stacked array per output.
    """
    size = next(np.shape(a)[d] for a, d in zip(args, in_axes) if d is not None)
    outs = [fn(*[a if d is None else np.take(a, b, axis=d) for a, d in zip(args, in_axes)])
            for b in range(size)]
    if isinstance(outs[0], (tuple, list)):
        return [np.stack([np.asarray(o[i]) for o in outs]) for i in range(len(outs[0]))]
    return np.stack([np.asarray(o) for o in outs])
