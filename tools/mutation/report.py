"""Summarise a mutmut run: the mutation score of the core and each surviving mutant.

    python tools/mutation/report.py RESULTS --equivalent tools/mutation/equivalent.txt \
        --mutmut "python -m mutmut"

RESULTS is the output of ``mutmut results --all true`` (one ``name: status`` line per
mutant). A mutant listed in the equivalent file (``name  reason``) is one that no input
can tell from the original; it is reported with its reason and left out of the score.
Killed and timed-out mutants count as caught; every other status as not caught.
"""
import argparse
import collections
import shlex
import subprocess

CAUGHT = {'killed', 'timeout'}


def read_statuses(path):
    statuses = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            name, sep, status = line.strip().rpartition(': ')
            if sep and '__mutmut_' in name:
                statuses[name] = status
    return statuses


def read_equivalent(path):
    reasons = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                name, _, reason = line.partition(' ')
                reasons[name] = reason.strip()
    return reasons


def diff_of(mutmut, name):
    out = subprocess.run(shlex.split(mutmut) + ['show', name], capture_output=True,
                         text=True).stdout
    return '\n'.join(line for line in out.splitlines()
                     if line[:1] in '+-' and line[:3] not in ('+++', '---'))


def module_of(name):
    return name.split('.x\u01c1')[0].rsplit('.x_', 1)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('results')
    parser.add_argument('--equivalent', required=True)
    parser.add_argument('--mutmut', default='mutmut', help='command that runs mutmut')
    args = parser.parse_args()
    statuses = read_statuses(args.results)
    if not statuses:
        raise SystemExit(f'no mutant statuses in {args.results}: did mutmut run?')
    equivalent = read_equivalent(args.equivalent)
    stale = sorted(set(equivalent) - set(statuses))
    counted = {n: s for n, s in statuses.items() if n not in equivalent}
    caught = sum(s in CAUGHT for s in counted.values())
    score = 100.0 * caught / max(len(counted), 1)
    print(f'mutation score of the core: {score:.1f}% ({caught} of {len(counted)} '
          f'non-equivalent mutants caught; {len(statuses)} mutants, '
          f'{len(statuses) - len(counted)} judged equivalent)')
    per_module = collections.defaultdict(lambda: [0, 0])
    for name, status in counted.items():
        per_module[module_of(name)][0] += status in CAUGHT
        per_module[module_of(name)][1] += 1
    for module, (hit, total) in sorted(per_module.items()):
        print(f'  {module}: {hit}/{total}')
    print(f'statuses: {dict(collections.Counter(statuses.values()))}')
    survivors = sorted(n for n, s in counted.items() if s not in CAUGHT)
    print(f'\nnot caught ({len(survivors)}):')
    for name in survivors:
        print(f'\n{name}: {counted[name]}\n{diff_of(args.mutmut, name)}')
    print(f'\njudged equivalent ({len(statuses) - len(counted)}):')
    for name in sorted(set(equivalent) & set(statuses)):
        print(f'\n{name} [{statuses[name]}]: {equivalent[name]}\n'
              f'{diff_of(args.mutmut, name)}')
    if stale:
        print(f'\nlisted as equivalent but not generated (stale): {stale}')


if __name__ == '__main__':
    main()
