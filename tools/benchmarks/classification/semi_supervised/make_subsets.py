"""Write class-balanced subsets of an ImageNet-style meta list (1% and 10% of the labels).

    python tools/benchmarks/classification/semi_supervised/make_subsets.py DATA_ROOT \
        [--ann-file meta/train.txt] [--fractions 0.01,0.1] [--seed 0]

Reads DATA_ROOT/meta/train.txt ("relative/path label" per line) and writes, next to it,
train_1percent.txt and train_10percent.txt in the same format: every class gets
round(fraction * N / classes) images drawn at random with the seed (all of a smaller
class), lines in the original order.
"""
import argparse
import os.path as osp

from rotation_pred.datasets.class_balanced import class_balanced_subset


def read_meta(path: str):
    """Lines and integer labels of a meta list; raises naming the file and line."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'meta list not found: {path}')
    lines, labels = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                raise ValueError(f'{path}:{number}: expected "relative/path label", got '
                                 f'{line.strip()!r}')
            lines.append(line.rstrip('\n'))
            labels.append(int(parts[1]))
    return lines, labels


def subset_name(fraction: float) -> str:
    return f'train_{fraction * 100:g}percent.txt'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='e.g. data/imagenet')
    parser.add_argument('--ann-file', default='meta/train.txt', help='relative to DATA_ROOT')
    parser.add_argument('--fractions', default='0.01,0.1')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    source = osp.join(args.data_root, args.ann_file)
    lines, labels = read_meta(source)
    for fraction in (float(v) for v in args.fractions.split(',')):
        chosen = class_balanced_subset(labels, fraction, args.seed)
        out = osp.join(osp.dirname(source), subset_name(fraction))
        with open(out, 'w') as f:
            f.writelines(lines[i] + '\n' for i in chosen)
        print(f'{out}: {len(chosen)} of {len(lines)} images, '
              f'{len(set(labels[i] for i in chosen))} classes (seed {args.seed})')


if __name__ == '__main__':
    main()
