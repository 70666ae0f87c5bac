"""Plant each one-line bug of a fixed list (wrong labels, skipped rotations, scores
attached to the wrong image...), in a throwaway copy of the repository, and check that
the tests fail for every one of them.

    python tools/mutation/planted_bugs.py [--only NAME ...]

Each bug replaces one exact piece of code (which must occur exactly once, so a bug
whose code has moved is reported as stale instead of silently passing). The copy is
made from the files git knows; the working tree is never touched. Exit status 1 if
any bug survives or is stale.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple, Tuple

from rotation_pred.fileio import REPO_ROOT


class Bug(NamedTuple):
    name: str
    path: str
    old: str
    new: str
    tests: Tuple[str, ...]


CORE_TESTS = ('tests/test_algorithm.py', )
LOSS = 'return self.head.loss(self.head_inputs(samples), labels)'
BUGS = [
    Bug('labels reversed ((-labels) % K)', 'rotation_pred/models/rotation_pred.py', LOSS,
        'return self.head.loss(self.head_inputs(samples), (-labels) % len(self.rotations))',
        CORE_TESTS),
    Bug('labels shifted by one', 'rotation_pred/models/rotation_pred.py', LOSS,
        'return self.head.loss(self.head_inputs(samples), (labels + 1) % len(self.rotations))',
        CORE_TESTS),
    Bug('loss is a constant log 4', 'rotation_pred/models/rotation_pred.py', LOSS,
        'return dict(loss=torch.tensor(4.0).log().requires_grad_(), '
        'rotation_accuracy=torch.tensor(25.0))', CORE_TESTS),
    Bug('rotation skipped', 'rotation_pred/rotations.py',
        'copies = [rotate(images, angle, side) for angle in rotations]',
        'copies = [rotate(images, 0, side) for angle in rotations]', CORE_TESTS),
    Bug('extract_feat sees rotated images', 'rotation_pred/models/rotation_pred.py',
        'feats = self.backbone(self.to_memory_format(_single_view(inputs)))',
        'feats = self.backbone(self.to_memory_format(torch.rot90(_single_view(inputs), 1, '
        '(2, 3))))', CORE_TESTS),
    Bug('predict: scores attached to the wrong image', 'rotation_pred/models/rotation_pred.py',
        'for sample, score in zip(data_samples, scores):',
        'for sample, score in zip(data_samples, scores.roll(1, 0)):', CORE_TESTS),
    Bug('predict: rows of the wrong copies', 'rotation_pred/models/rotation_pred.py',
        'for sample, score in zip(data_samples, scores):',
        'for sample, score in zip(data_samples, scores.roll(1, 1)):', CORE_TESTS),
    Bug('RotationAccuracy counts images, not copies',
        'rotation_pred/evaluation/rotation_metric.py',
        'self.results.extend((right, copies) for right in right_copies(scores).tolist())',
        'self.results.extend((right, 1) for right in right_copies(scores).tolist())',
        ('tests/test_head_and_metric.py', )),
]


def copy_repository(dest: str) -> None:
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=REPO_ROOT,
                           capture_output=True, text=True, check=True).stdout.split('\n')
    files = [f for f in files if f and not f.startswith(('zoo/', 'docs/'))]
    tar = subprocess.Popen(['tar', '-cf', '-', '-T', '-'], cwd=REPO_ROOT, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE)
    untar = subprocess.Popen(['tar', '-xf', '-', '-C', dest], stdin=tar.stdout)
    tar.stdin.write('\n'.join(files).encode())
    tar.stdin.close()
    if untar.wait() or tar.wait():
        raise RuntimeError('copying the repository failed')


def plant(tree: str, bug: Bug) -> str:
    """Apply ``bug`` in ``tree``; return the original text to restore."""
    path = os.path.join(tree, bug.path)
    with open(path) as f:
        text = f.read()
    if text.count(bug.old) != 1:
        raise LookupError(f'{bug.path}: expected the planted code exactly once, found it '
                          f'{text.count(bug.old)} times: {bug.old!r}')
    with open(path, 'w') as f:
        f.write(text.replace(bug.old, bug.new))
    return text


def run_tests(tree: str, tests) -> subprocess.CompletedProcess:
    # `python -m pytest` puts the copy first on sys.path, so its rotation_pred is used.
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
    return subprocess.run([sys.executable, '-m', 'pytest', '-x', '-q', '-p',
                           'no:cacheprovider', *tests], cwd=tree, env=env,
                          capture_output=True, text=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--only', nargs='*', help='names (substrings) of bugs to plant')
    args = parser.parse_args()
    bugs = [b for b in BUGS if not args.only or any(o in b.name for o in args.only)]
    failures = 0
    with tempfile.TemporaryDirectory() as tree:
        copy_repository(tree)
        clean = run_tests(tree, sorted({t for b in bugs for t in b.tests}))
        if clean.returncode != 0:
            sys.exit(f'the tests fail without any planted bug:\n{clean.stdout[-3000:]}')
        print(f'{"planted bug":55s} {"result":8s} first failing test')
        for bug in bugs:
            start = time.time()
            try:
                original = plant(tree, bug)
            except LookupError as e:
                print(f'{bug.name:55s} {"STALE":8s} {e}')
                failures += 1
                continue
            try:
                out = run_tests(tree, bug.tests)
            finally:
                with open(os.path.join(tree, bug.path), 'w') as f:
                    f.write(original)
            failed = [line.split(' ')[1] for line in out.stdout.splitlines()
                      if line.startswith(('FAILED ', 'ERROR '))]
            caught = out.returncode != 0 and bool(failed)
            failures += not caught
            print(f'{bug.name:55s} {"caught" if caught else "MISSED":8s} '
                  f'{failed[0] if failed else "-"} ({time.time() - start:.0f} s)', flush=True)
    print(f'\n{len(bugs) - failures} of {len(bugs)} planted bugs make a test fail')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
