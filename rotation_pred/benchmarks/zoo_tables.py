"""Rebuild the model-zoo tables of the docs and the model index (model-index.yml and one
OpenMMLab metafile per collection under zoo/) from the result rows in
zoo/results/rows.jsonl (written by tools/zoo/evaluate.py), and the main job's table from
zoo/results/main_job.jsonl (the rows file of the main job's run, tools/run_main.sh).

    python tools/zoo/make_tables.py [--pages README.md docs/*.md] [--check]

The table of registered classes comes from the registries
(:mod:`rotation_pred.registry_table`). Each table lives between `<!-- zoo:NAME -->` and
`<!-- /zoo:NAME -->` in one of the pages (by default README.md and docs/*.md): a table
that no page holds, or that is held twice, and a marker of no known table are errors.
A cell is the mean ± sample standard deviation over the seeds that have a row, with
their number: `88.52 ± 0.17 (3)`. Every level is chosen on the validation split (the
mean over seeds) and read on the test split. --check exits with status 1 if a page or
the model index is not up to date.
"""
import argparse
import glob
import os
import os.path as osp
import re
import statistics
from typing import Optional, Sequence

import yaml

from ..evaluation.knn import KNN_KS
from ..fileio import REPO_ROOT, file_sha256
from . import zoo
from .best_level import choose_levels
from .low_shot import LOW_SHOT_KS
from .render import MISSING, format_cell, probe_summary_table
from .rows import read_rows, select
from .tables import markdown_table

PROBE = 'train=10000'  # the linear probe's setting (10,000 training images)
KNN_CHOICE = 'k=20'  # the k-NN level is chosen on the validation split at k=20
MAIN_JOB = 'main_job.jsonl'  # the rows of the main job's run shown first in the README
ZOO_PAGE = 'docs/model_zoo.md'  # the page of the full zoo tables, named by the model index


def title(key):
    return zoo.MODELS[key].title


def cell(rows):
    """``mean ± std (n)`` of the rows' values over their seeds, ``—`` for none."""
    if not rows:
        return MISSING
    seeds = [r['seed'] for r in rows]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f'a cell has seeds {seeds}: one row per seed is expected')
    return format_cell([r['value'] for r in rows])


def mean(rows):
    return statistics.fmean(r['value'] for r in rows) if rows else None


def level_order(rows):
    return sorted({r['level'] for r in rows}, key=lambda b: int(b[5:]))


def chosen(rows, key, protocol, setting):
    """The level of ``key`` with the best mean over seeds on the validation split for
    ``protocol`` at ``setting``; None without validation rows."""
    val = select(rows, model=key, protocol=protocol, setting=setting, split='val')
    return choose_levels(val, 'val')[key] if val else None


def probe_table(rows, keys):
    """Rotation accuracy, linear probe of every block (test), and the block chosen on
    the validation split with its test number, one line per model."""
    probe = select(rows, protocol='linear_probe', setting=PROBE)
    keys = [k for k in keys if select(probe, model=k, split='test')]
    levels = level_order(select(probe, split='test'))
    body = []
    for key in keys:
        test = select(probe, model=key, split='test')
        level = chosen(rows, key, 'linear_probe', PROBE)
        rotation = select(rows, model=key, protocol='rotation_accuracy', setting='',
                          split='test')
        body.append([title(key), cell(rotation)] +
                    [cell(select(test, level=b)) for b in levels] +
                    [level or MISSING, cell(select(test, level=level)) if level else MISSING])
    header = ['Model', 'Rotation acc.'] + levels + ['Block (chosen on val)', 'Chosen (test)']
    return markdown_table(header, body)


def chosen_test(rows, key, protocol, setting=PROBE):
    """``(level, rows)``: the level of ``key`` chosen on the validation split for
    ``protocol`` at ``setting`` and its rows on the test split there; ``(None, [])``
    without validation rows."""
    level = chosen(rows, key, protocol, setting)
    if level is None:
        return None, []
    return level, select(rows, model=key, protocol=protocol, setting=setting, split='test',
                         level=level)


#: The models whose numbers give the share of the random -> supervised gap RotNet closes.
GAP_MODELS = ('rotnet', 'random', 'supervised')


def share_of_gap(model, random, supervised):
    """Share (%) of the gap from ``random`` to ``supervised`` (top-1 %) that ``model``
    closes; None when a number is missing or there is no gap."""
    if None in (model, random, supervised) or supervised == random:
        return None
    return 100 * (model - random) / (supervised - random)


def chosen_means(rows, keys, protocol='linear_probe'):
    """Per model of ``keys``: the seed mean of its test number for ``protocol`` at its
    block chosen on the validation split (None without rows)."""
    return [mean(chosen_test(rows, key, protocol)[1]) for key in keys]


def gap_closed(rows, protocol='linear_probe'):
    """Share (%) of the random -> supervised gap closed by RotNet with ``protocol``, from
    the seed means of each model's test number at its block chosen on the validation
    split; None when a model lacks rows."""
    return share_of_gap(*chosen_means(rows, GAP_MODELS, protocol))


def gap_sentence(rows):
    """The share of the gap closed, as a sentence below a table; '' without rows."""
    gap = gap_closed(rows)
    return '' if gap is None else (
        f'\n\nWith each model\'s block chosen on val, RotNet closes **{gap:.1f}%** of the '
        'gap between the random and the supervised backbone (seed means).')


def headline_table(rows):
    """The linear probe (test) of each baseline at the block chosen on the validation
    split, and the share of the gap closed: the zoo in three lines."""
    body = []
    for key in zoo.BASELINES:
        level = chosen(rows, key, 'linear_probe', PROBE)
        test = select(rows, model=key, protocol='linear_probe', setting=PROBE, split='test',
                      level=level)
        if level is not None and test:
            body.append([title(key), level, cell(test)])
    return markdown_table(['Model', 'Block (chosen on val)', 'Linear probe, top-1 % (test)'],
                          body) + gap_sentence(rows)


def svm_table(rows):
    """SVM and low-shot SVM (test) of each baseline at the block its linear probe chose
    on the validation split."""
    header = ['Model', 'Block', 'SVM'] + [f'k={k}' for k in LOW_SHOT_KS]
    body = []
    for key in zoo.BASELINES:
        svm = select(rows, model=key, protocol='svm', split='test')
        low = select(rows, model=key, protocol='low_shot', split='test')
        level = chosen(rows, key, 'linear_probe', PROBE)
        if not (svm or low) or level is None:
            continue
        body.append([title(key), level, cell(select(svm, level=level))] +
                    [cell(select(low, level=level, setting=f'k={k}')) for k in LOW_SHOT_KS])
    return markdown_table(header, body)


def knn_table(rows):
    """k-NN top-1 (test) of each baseline at the block chosen on the validation split
    with k=20."""
    header = ['Model', 'Block (chosen on val, k=20)'] + [f'k={k}' for k in KNN_KS]
    body = []
    for key in zoo.BASELINES:
        level = chosen(rows, key, 'knn', KNN_CHOICE)
        test = select(rows, model=key, protocol='knn', split='test', level=level)
        if level is None or not test:
            continue
        body.append([title(key), level] +
                    [cell(select(test, setting=f'k={k}')) for k in KNN_KS])
    return markdown_table(header, body)


def semisup_table(rows):
    body = []
    for key in zoo.BASELINES:
        tuned = select(rows, model=key, protocol='fine_tune', split='test')
        if tuned:
            body.append([title(key), cell(select(tuned, setting='labels=1%')),
                         cell(select(tuned, setting='labels=10%'))])
    return markdown_table(['Initialisation', '1% labels (600)', '10% labels (6,000)'], body)


def epochs_table(rows, key='rotnet'):
    """Rotation accuracy and linear probe (test) of zoo model ``key`` after each epoch."""
    epochs = sorted({int(r['setting'].rsplit('epoch=', 1)[1])
                     for r in select(rows, model=key, split='test')
                     if 'epoch=' in r['setting']})
    probe = [r for r in select(rows, model=key, protocol='linear_probe', split='test')
             if 'epoch=' in r['setting']]
    levels = level_order(probe)
    body = []
    for epoch in epochs:
        body.append([str(epoch), cell(select(rows, model=key, split='test',
                                             protocol='rotation_accuracy',
                                             setting=f'epoch={epoch}'))] +
                    [cell(select(probe, level=b, setting=f'{PROBE}, epoch={epoch}'))
                     for b in levels])
    return markdown_table(['Epoch', 'Rotation acc.'] + [f'probe {b}' for b in levels], body)


def long_pretraining_table(rows):
    """:func:`epochs_table` of the longer RotNet (zoo model ``rotnet_long``), then, once
    its final checkpoint has probe rows on val, :func:`longer_against_shorter`; 'Not
    measured yet.' without its rows per epoch."""
    per_epoch = [r for r in select(rows, model='rotnet_long', split='test')
                 if 'epoch=' in r['setting']]
    if not per_epoch:
        return 'Not measured yet.'
    comparison = longer_against_shorter(rows)
    return epochs_table(rows, 'rotnet_long') + (f'\n\n{comparison}' if comparison else '')


def longer_against_shorter(rows, keys=('rotnet', 'rotnet_long')):
    """The linear probe (test) of each of ``keys`` at its block chosen on val and the
    share of the random -> supervised gap it closes (seed means; the baselines' blocks
    chosen on val too); '' until ``rotnet_long`` has validation rows."""
    if chosen(rows, keys[-1], 'linear_probe', PROBE) is None:
        return ''
    baselines = chosen_means(rows, GAP_MODELS[1:])
    body = []
    for key in keys:
        level, test = chosen_test(rows, key, 'linear_probe')
        gap = share_of_gap(mean(test), *baselines)
        body.append([title(key), level or MISSING, cell(test), _number(gap, 1, '%')])
    return markdown_table(['Model', 'Block (chosen on val)', 'Linear probe, top-1 % (test)',
                           'Gap closed (seed means)'], body)


HEAD_TITLES = {'nonlinear': 'Non-linear', 'conv': 'Conv'}
#: The paper's Table 3 (CIFAR-10, top-1 %) per head: RotNet (NIN 4 blocks, the head on
#: block 2), random initialisation, supervised NIN. The paper gives no random-init number
#: for the non-linear head.
PAPER_TABLE3 = {'nonlinear': {'rotnet': 89.06, 'random': None, 'supervised': 92.80},
                'conv': {'rotnet': 91.16, 'random': 72.50, 'supervised': 92.80}}


def _number(value, digits=2, unit=''):
    return MISSING if value is None else f'{value:.{digits}f}{unit}'


def seed_gap_shares(rows, protocol):
    """Per seed that has test rows of all of :data:`GAP_MODELS` for ``protocol`` at
    each one's block chosen on val: the share (%) of the random -> supervised gap that
    RotNet closes with that seed's three numbers (seeds without a gap left out)."""
    by_model = [{r['seed']: r['value'] for r in chosen_test(rows, key, protocol)[1]}
                for key in GAP_MODELS]
    seeds = sorted(set.intersection(*(set(values) for values in by_model)))
    shares = [share_of_gap(*(values[seed] for values in by_model)) for seed in seeds]
    return [share for share in shares if share is not None]


def _heads_measured(rows):
    return bool([r for r in select(rows, setting=PROBE) if r['protocol'] in zoo.HEADS])


def table3(rows):
    """The paper's Table 3 at Fashion-MNIST scale: for each model of :data:`.zoo.TABLE3`
    and each head of :data:`.zoo.HEADS`, the block chosen on the validation split (mean
    over seeds) and its test top-1. 'Not measured yet.' without rows of the heads."""
    if not _heads_measured(rows):
        return 'Not measured yet.'
    header, body = ['Model'], []
    for head in zoo.HEADS:
        header += [f'{HEAD_TITLES[head]}: block (chosen on val)',
                   f'{HEAD_TITLES[head]}: top-1 % (test)']
    for key in zoo.TABLE3:
        line = [title(key)]
        for head in zoo.HEADS:
            level, test = chosen_test(rows, key, head)
            line += [level or MISSING, cell(test) if level else MISSING]
        body.append(line)
    return markdown_table(header, body)


def table3_gap(rows):
    """Per head of :data:`.zoo.HEADS`: the seed means of RotNet NIN-3, random and
    supervised at their blocks chosen on val and the share of the gap RotNet closes
    (mean ± std of the per-seed shares, :func:`seed_gap_shares`), beside the paper's
    CIFAR-10 numbers. 'Not measured yet.' without rows of the heads."""
    if not _heads_measured(rows):
        return 'Not measured yet.'
    gaps = []
    for head in zoo.HEADS:
        ours = [mean(chosen_test(rows, key, head)[1]) for key in GAP_MODELS]
        paper = [PAPER_TABLE3[head][key] for key in GAP_MODELS]
        shares = seed_gap_shares(rows, head)
        gaps.append([HEAD_TITLES[head], ' / '.join(map(_number, ours)),
                     format_cell(shares, 1) if shares else MISSING,
                     ' / '.join(map(_number, paper)),
                     _number(share_of_gap(*paper), 1, '%')])
    return markdown_table(
        ['Head', 'Ours, Fashion-MNIST: RotNet NIN-3 / random / supervised',
         'Ours: gap closed, % (per seed)', 'Paper, CIFAR-10: RotNet / random / supervised',
         'Paper, CIFAR-10: gap closed'], gaps)


def table3_blocks(rows):
    """Every block of Table 3: per model of :data:`.zoo.TABLE3` and head, the test top-1
    of each block (mean ± std over seeds), the block chosen on val in bold. 'Not
    measured yet.' without rows of the heads."""
    heads = [r for r in select(rows, setting=PROBE, split='test')
             if r['protocol'] in zoo.HEADS]
    if not heads:
        return 'Not measured yet.'
    levels = level_order(heads)
    body = []
    for key in zoo.TABLE3:
        for head in zoo.HEADS:
            test = select(heads, model=key, protocol=head)
            if not test:
                continue
            best = chosen(rows, key, head, PROBE)
            cells = [cell(select(test, level=b)) for b in levels]
            body.append([title(key), HEAD_TITLES[head]] +
                        [f'**{c}**' if b == best else c for b, c in zip(levels, cells)])
    return markdown_table(['Model', 'Head'] + levels, body)


COLLECTIONS = {  # name: (metafile, description)
    'RotationPred': ('zoo/rotation-pred/metafile.yml',
                     'RotNet: a ConvNet trained to tell which of 0/90/180/270 degrees an '
                     'image was rotated by (self-supervised)'),
    'Baselines': ('zoo/baselines/metafile.yml',
                  'The same network trained with labels (the upper reference of the zoo)'),
}
PAPER = {'Title': 'Unsupervised Representation Learning by Predicting Image Rotations',
         'URL': 'https://arxiv.org/abs/1803.07728'}


def model_entry(rows, key, root):
    """The model-index entry of zoo model ``key`` (OpenMMLab metafile format), with its
    linear probe (test, mean over seeds, at the block chosen on the validation split)
    and its shipped weights, or None when it has no such rows or no weights file under
    ``root``: the index lists the models a user can download."""
    from mmengine.config import Config
    config, kind = zoo.MODELS[key].config, zoo.MODELS[key].kind
    level = chosen(rows, key, 'linear_probe', PROBE)
    test = select(rows, model=key, protocol='linear_probe', setting=PROBE, split='test',
                  level=level)
    weights = zoo.MODELS[key].weights_file
    if level is None or not test or not osp.isfile(osp.join(root, weights)):
        return None
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))  # configs: always this repository's
    metrics = {'Top 1 Accuracy': round(mean(test), 2), 'Block': level, 'Seeds': len(test)}
    results = [{'Task': 'Linear Probe', 'Dataset': 'Fashion-MNIST', 'Metrics': metrics}]
    rotation = select(rows, model=key, protocol='rotation_accuracy', setting='', split='test')
    if rotation:
        results.append({'Task': 'Rotation Prediction', 'Dataset': 'Fashion-MNIST',
                        'Metrics': {'Rotation Accuracy': round(mean(rotation), 2),
                                    'Seeds': len(rotation)}})
    entry = {
        'Name': osp.splitext(osp.basename(config))[0],
        'In Collection': 'RotationPred' if kind == 'rotation' else 'Baselines',
        'Metadata': {'Epochs': cfg.train_cfg.max_epochs,
                     'Batch Size': cfg.train_dataloader.batch_size,
                     'Training Data': 'Fashion-MNIST',
                     'Architecture': ['NetworkInNetwork']},
        'Results': results,
        'Config': config,
        'Weights': weights,
        'Weights sha256': file_sha256(osp.join(root, weights)),
    }
    return entry


def model_index(rows, root='.'):
    """``{path: YAML text}``: model-index.yml (importing one metafile per collection)
    and each collection's metafile, from the rows and the shipped weights."""
    files = {'model-index.yml': yaml.safe_dump(
        {'Import': [path for path, _ in COLLECTIONS.values()]}, sort_keys=False)}
    entries = [e for e in (model_entry(rows, key, root) for key, model in
                           zoo.MODELS.items() if model.config is not None) if e is not None]
    for collection, (path, description) in COLLECTIONS.items():
        files[path] = yaml.safe_dump({
            'Collections': [{'Name': collection,
                             'Metadata': {'Training Data': 'Fashion-MNIST',
                                          'Architecture': ['NetworkInNetwork'],
                                          'Description': description},
                             'Paper': PAPER, 'README': ZOO_PAGE}],
            'Models': [e for e in entries if e['In Collection'] == collection]},
            sort_keys=False, allow_unicode=True)
    return files


def main_job_table(rows):
    """The main job's table (tools/run_main.sh, one run): rotation accuracy and linear
    probe of every block on the test split, RotNet and the random network."""
    titles = {r['model']: 'random init' if r['model'] == 'random' else 'RotNet'
              for r in rows}
    return probe_summary_table(select(rows, split='test'), titles,
                               'rotation accuracy (test)')


def label_efficiency_tables(curve_rows):
    """The label-efficiency tables (:mod:`.label_efficiency`): test top-1 per method and
    K, and the candidate settings on val."""
    from . import label_efficiency
    if not curve_rows:
        return {'label_efficiency': 'Not measured yet.', 'label_efficiency_val':
                'Not measured yet.'}
    test = [r for r in curve_rows if r['split'] == 'test']
    return {'label_efficiency': label_efficiency.render_curve_table(test)
            if test else 'Not measured on the test split yet.',
            'label_efficiency_val': label_efficiency.render_val_table(curve_rows)}


def sections(rows, main_rows=(), curve_rows=()):
    from ..registry_table import markdown as registry_markdown
    return {
        **label_efficiency_tables(curve_rows),
        'registry': registry_markdown(),
        'main': main_job_table(main_rows),
        'headline': headline_table(rows),
        'baselines': probe_table(rows, zoo.BASELINES) + gap_sentence(rows),
        'svm': svm_table(rows),
        'knn': knn_table(rows),
        'semisup': semisup_table(rows),
        'ablations': probe_table(rows, zoo.ABLATIONS),
        'epochs': epochs_table(rows),
        'table3': table3(rows),
        'table3_gap': table3_gap(rows),
        'table3_blocks': table3_blocks(rows),
        'epochs_long': long_pretraining_table(rows),
    }


OPENING = re.compile(r'<!-- zoo:([\w-]+) -->')
SECTION = re.compile(r'(<!-- zoo:([\w-]+) -->\n).*?(<!-- /zoo:\2 -->)', re.S)


def default_pages(root=REPO_ROOT):
    """README.md and docs/*.md of the repository: the pages that may hold tables."""
    return [osp.join(root, 'README.md')] + sorted(glob.glob(osp.join(root, 'docs', '*.md')))


def fill_pages(texts, tables):
    """``{page: text}`` with each table written into the one section that holds it.

    ``texts`` maps each page to its text, ``tables`` each section name to its table.
    Exits with a message when a table is in no page or in more than one place, when a
    page marks a section of no known table, or when a section is not closed."""
    where = {}
    for page, text in texts.items():
        for name in OPENING.findall(text):
            where.setdefault(name, []).append(page)
        closed = [m.group(2) for m in SECTION.finditer(text)]
        unclosed = sorted(set(OPENING.findall(text)) - set(closed))
        if unclosed or len(closed) != len(OPENING.findall(text)):
            raise SystemExit(f'{page}: a section is not closed: <!-- zoo:NAME --> needs '
                             f'<!-- /zoo:NAME --> on a later line ({unclosed or closed})')
    unknown = sorted(set(where) - set(tables))
    if unknown:
        raise SystemExit(f'sections of no known table: {unknown} in '
                         f'{sorted({p for n in unknown for p in where[n]})}; '
                         f'the tables are {sorted(tables)}')
    for name in tables:
        if name not in where:
            raise SystemExit(f'no page holds <!-- zoo:{name} --> ... <!-- /zoo:{name} -->; '
                             f'pages searched: {sorted(texts)}')
        if len(where[name]) > 1:
            raise SystemExit(f'<!-- zoo:{name} --> is held {len(where[name])} times, in '
                             f'{where[name]}: a table has one place')
    return {page: SECTION.sub(lambda m: m.group(1) + tables[m.group(2)] + '\n' + m.group(3),
                              text)
            for page, text in texts.items()}


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog='tools/zoo/make_tables.py',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--pages', nargs='+', metavar='PAGE',
                        help='the pages that hold the tables (default: README.md and '
                        'docs/*.md of the repository)')
    parser.add_argument('--results', default=zoo.RESULTS, help='folder of rows.jsonl')
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args(argv)
    rows_path = osp.join(args.results, 'rows.jsonl')
    rows = read_rows(rows_path) if osp.isfile(rows_path) else []
    main_path = osp.join(args.results, MAIN_JOB)
    curve_path = osp.join(args.results, 'label_efficiency.jsonl')
    tables = sections(rows, read_rows(main_path) if osp.isfile(main_path) else [],
                      read_rows(curve_path) if osp.isfile(curve_path) else [])
    pages = args.pages or default_pages()
    current = {}
    for page in pages:
        with open(page) as f:
            current[page] = f.read()
    files = fill_pages(current, tables)
    root = osp.dirname(osp.dirname(osp.abspath(args.results)))
    files.update({osp.join(root, path): text for path, text in model_index(rows, root).items()})
    current.update({path: open(path).read() if osp.isfile(path) else None
                    for path in files if path not in current})
    stale = [path for path, text in files.items() if current[path] != text]
    if args.check:
        if stale:
            raise SystemExit(f'out of date: {stale}; run python tools/zoo/make_tables.py')
        print('tables and model index are up to date')
        return
    for path in stale:
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        with open(path, 'w') as f:
            f.write(files[path])
    print(f'rebuilt {len(tables)} tables in {len(pages)} pages and the model index '
          f'(model-index.yml, {len(COLLECTIONS)} metafiles) from {len(rows)} result rows')
