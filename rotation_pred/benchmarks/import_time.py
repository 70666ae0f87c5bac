"""What ``import rotation_pred`` costs with the detection and segmentation extras
installed, against the same import with mmdet and mmseg out of reach:
``tools/benchmarks/import_time.py``.

Each sample is a fresh interpreter (``python -c``) timing the import; the two kinds run
interleaved, ``--repeats`` times each, and the medians and their ratio are printed
(within 1.10 is "the same cost")."""
import argparse
import statistics
import subprocess
import sys
from typing import Dict, Optional, Sequence

TIMED = ('import time\n'
         'start = time.perf_counter()\n'
         'import rotation_pred\n'
         'seconds = time.perf_counter() - start\n'
         "loaded = [m for m in ('mmdet', 'mmseg', 'sklearn') if m in sys.modules]\n"
         "print(seconds, ','.join(loaded) or '-')\n")
BLOCKED = ('import importlib.abc\n'
           'class Blocked(importlib.abc.MetaPathFinder):\n'
           '    def find_spec(self, name, path=None, target=None):\n'
           "        if name.split('.')[0] in ('mmdet', 'mmseg'):\n"
           '            raise ImportError(name)\n'
           'sys.meta_path.insert(0, Blocked())\n')


def one_import(blocked: bool, python: str = sys.executable) -> Dict:
    """``dict(seconds, loaded)``: the time of ``import rotation_pred`` in a new
    interpreter and which of mmdet, mmseg, scikit-learn it loaded."""
    code = 'import sys\n' + (BLOCKED if blocked else '') + TIMED
    out = subprocess.run([python, '-c', code], capture_output=True, text=True, check=True)
    seconds, loaded = out.stdout.split()
    return dict(seconds=float(seconds), loaded=[] if loaded == '-' else loaded.split(','))


def measure(repeats: int = 5, python: str = sys.executable) -> Dict:
    """Medians over ``repeats`` interleaved imports of each kind, and their ratio."""
    runs = {'extras installed': [], 'mmdet and mmseg blocked': []}
    loaded = set()
    for _ in range(repeats):
        for kind, blocked in (('extras installed', False), ('mmdet and mmseg blocked', True)):
            sample = one_import(blocked, python)
            runs[kind].append(sample['seconds'])
            if not blocked:
                loaded.update(sample['loaded'])
    medians = {kind: statistics.median(values) for kind, values in runs.items()}
    return dict(runs=runs, medians=medians, loaded=sorted(loaded),
                ratio=medians['extras installed'] / medians['mmdet and mmseg blocked'])


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    parser = argparse.ArgumentParser(prog='tools/benchmarks/import_time.py',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    print(f'import rotation_pred, medians of {args.repeats} interleaved fresh interpreters\n')
    print('| environment | median s | runs (s) |\n|---|---|---|')
    for kind, values in result['runs'].items():
        print(f'| {kind} | {result["medians"][kind]:.2f} | '
              f'{" ".join(f"{v:.2f}" for v in values)} |')
    print(f'\nratio extras / blocked: {result["ratio"]:.2f} (the same cost: <= 1.10); '
          f'loaded with the extras: {", ".join(result["loaded"]) or "none of mmdet, mmseg, sklearn"}')
    return result
