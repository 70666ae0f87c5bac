"""The docs cannot go stale silently: every relative link and every repository path that
README.md and docs/*.md name exists."""
import glob
import os
import re

import pytest

from conftest import REPO

PAGES = ['README.md', 'CHANGELOG.md'] + sorted(
    os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, 'docs', '*.md')))
#: A path of the repository in backquotes: it starts with one of its top-level folders.
REPO_PATH = re.compile(r'`((?:rotation_pred|configs|tools|tests|docs|zoo)/[^`\s*{}<>]+)`')
#: The same in a fenced code block, where paths stand without backquotes.
CODE_PATH = re.compile(r'(?<![\w/.$-])((?:rotation_pred|configs|tools|tests|docs|zoo)/[\w./-]+)')
FENCE = re.compile(r'^```[^\n]*\n(.*?)^```', re.S | re.M)
LINK = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')
#: Paths the docs name that a run writes, or that the user makes (``configs/my_*``).
MADE_BY_A_RUN = ('work_dirs/', 'data/', 'configs/my_')


def named_paths(text):
    """Repository paths in backquotes and in fenced code blocks, without a trailing
    ``:line`` or punctuation."""
    in_code = [p for block in FENCE.findall(text) for p in CODE_PATH.findall(block)]
    for path in REPO_PATH.findall(text) + in_code:
        path = re.sub(r'[:,.;)]+$', '', path.split(':')[0])
        if '...' not in path and not path.startswith(MADE_BY_A_RUN):
            yield path


@pytest.mark.parametrize('page', PAGES)
def test_every_path_and_relative_link_a_page_names_exists(page):
    text = open(os.path.join(REPO, page)).read()
    missing = sorted({p for p in named_paths(text)
                      if not os.path.exists(os.path.join(REPO, p))})
    assert not missing, f'{page} names paths that do not exist: {missing}'
    folder = os.path.dirname(os.path.join(REPO, page))
    links = [link for link in LINK.findall(text) if '://' not in link]
    broken = sorted({link for link in links
                     if not os.path.exists(os.path.normpath(os.path.join(folder, link)))})
    assert not broken, f'{page} links to paths that do not exist: {broken}'


def test_the_check_finds_a_planted_stale_path():
    text = ('run `tools/benchmarks/no_such_tool.py` and see `rotation_pred/fileio.py:42`\n'
            '```bash\npython tools/zoo/evaluate.py --seed 0\n```\n')
    paths = list(named_paths(text))
    assert paths == ['tools/benchmarks/no_such_tool.py', 'rotation_pred/fileio.py',
                     'tools/zoo/evaluate.py']
    assert not os.path.exists(os.path.join(REPO, paths[0]))
    assert os.path.exists(os.path.join(REPO, paths[1]))
    assert LINK.findall('see [the page](docs/no_such_page.md#anchor) and '
                        '[MMPretrain](https://github.com/open-mmlab/mmpretrain)') == [
        'docs/no_such_page.md', 'https://github.com/open-mmlab/mmpretrain']
