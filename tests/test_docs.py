"""The docs cannot go stale silently: every relative link (with its anchor) and every
repository path that README.md, CHANGELOG.md and docs/*.md name exists, and the site
(mkdocs.yml over docs/) builds with ``mkdocs build --strict``, which fails on a broken
link or anchor and on a page missing from the nav."""
import glob
import os
import re
import shutil
import subprocess
import sys
import unicodedata

import pytest

from conftest import REPO

PAGES = ['README.md', 'CHANGELOG.md'] + sorted(
    os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, 'docs', '*.md')))
#: Pages for users, which describe what things do: the history is in CHANGELOG.md.
USER_PAGES = [p for p in PAGES if p != 'CHANGELOG.md']
#: A path of the repository in backquotes: it starts with one of its top-level folders.
REPO_PATH = re.compile(r'`((?:rotation_pred|configs|tools|tests|docs|zoo)/[^`\s*{}<>]+)`')
#: The same in a fenced code block, where paths stand without backquotes.
CODE_PATH = re.compile(r'(?<![\w/.$-])((?:rotation_pred|configs|tools|tests|docs|zoo)/[\w./-]+)')
FENCE = re.compile(r'^```[^\n]*\n(.*?)^```', re.S | re.M)
LINK = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')
#: A relative link with its anchor: ``(target, anchor)``; an empty target is this page.
LINK_ANCHOR = re.compile(r'\]\(([^)#\s]*)#([^)\s]+)\)')
HEADING = re.compile(r'^#{1,6}\s+(.+?)\s*#*\s*$', re.M)
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


def anchors(text):
    """The anchors of a page's headings as GitHub and MkDocs (Python-Markdown's toc)
    spell them; headings inside code blocks do not count."""
    text = FENCE.sub('', text)
    found = set()
    for heading in HEADING.findall(text):
        plain = heading.replace('`', '').strip().lower()
        found.add(re.sub(r' ', '-', re.sub(r'[^\w\- ]', '', plain)))  # GitHub
        ascii_ = unicodedata.normalize('NFKD', plain).encode('ascii', 'ignore').decode()
        found.add(re.sub(r'[-\s]+', '-', re.sub(r'[^\w\s-]', '', ascii_).strip()))  # MkDocs
    return found


def broken_links(page, text):
    """Relative links of ``page`` (a path) whose file, or whose anchor in a markdown
    file, does not exist."""
    folder = os.path.dirname(page)
    texts = {}
    broken = [link for link in LINK.findall(text) if '://' not in link and
              not os.path.exists(os.path.normpath(os.path.join(folder, link)))]
    for target, anchor in LINK_ANCHOR.findall(text):
        if '://' in target:
            continue
        path = os.path.normpath(os.path.join(folder, target)) if target else page
        if not path.endswith('.md') or not os.path.isfile(path):
            continue  # a missing file is reported above
        if path not in texts:
            with open(path) as f:
                texts[path] = anchors(f.read())
        if anchor not in texts[path]:
            broken.append(f'{target}#{anchor}')
    return sorted(set(broken))


@pytest.mark.parametrize('page', PAGES)
def test_every_path_and_relative_link_a_page_names_exists(page):
    path = os.path.join(REPO, page)
    text = open(path).read()
    missing = sorted({p for p in named_paths(text)
                      if not os.path.exists(os.path.join(REPO, p))})
    assert not missing, f'{page} names paths that do not exist: {missing}'
    broken = broken_links(path, text)
    assert not broken, f'{page} links to paths or anchors that do not exist: {broken}'


def test_the_check_finds_a_planted_stale_path_link_and_anchor(tmp_path):
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
    # A page in a copy of docs/ with one good and three broken links.
    docs = tmp_path / 'docs'
    shutil.copytree(os.path.join(REPO, 'docs'), docs)
    page = docs / 'planted.md'
    page.write_text('# Planted `page`\n\n'
                    '[good](pretraining.md#your-own-images) [self](#planted-page) '
                    '[missing page](no_such_page.md) '
                    '[missing anchor](pretraining.md#no-such-section) '
                    '[missing own anchor](#nowhere)\n')
    assert broken_links(str(page), page.read_text()) == [
        '#nowhere', 'no_such_page.md', 'pretraining.md#no-such-section']


def test_headings_give_the_anchors_github_and_mkdocs_give_them():
    text = ('# Model zoo\n## mmcv: lite or full, whichever is there\n'
            '## Stack fixes (`rotation_pred/compat.py`)\n```\n# not a heading\n```\n')
    found = anchors(text)
    assert {'model-zoo', 'mmcv-lite-or-full-whichever-is-there',
            'stack-fixes-rotation_predcompatpy'} <= found
    assert 'not-a-heading' not in found


@pytest.mark.parametrize('page', USER_PAGES)
def test_user_pages_describe_what_is_not_its_history(page):
    """Issue numbers and reviews belong in CHANGELOG.md."""
    text = open(os.path.join(REPO, page)).read()
    history = re.findall(r'\b(?:issue \d+|a review (?:named|found))\b', text, re.I)
    assert not history, f'{page} tells history ({history}): move it to CHANGELOG.md'


def mkdocs_build(root, site):
    """``mkdocs build --strict`` of the mkdocs.yml in ``root`` into ``site``."""
    return subprocess.run(
        [sys.executable, '-m', 'mkdocs', 'build', '--strict', '--config-file',
         os.path.join(root, 'mkdocs.yml'), '--site-dir', str(site)],
        cwd=root, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, NO_MKDOCS_2_WARNING='1'))


def test_the_site_builds_strictly_with_every_page_in_the_nav(tmp_path):
    out = mkdocs_build(REPO, tmp_path / 'site')
    assert out.returncode == 0, out.stdout + out.stderr
    built = {os.path.relpath(p, tmp_path / 'site')
             for p in glob.glob(str(tmp_path / 'site' / '**' / 'index.html'), recursive=True)}
    for page in glob.glob(os.path.join(REPO, 'docs', '*.md')):
        name = os.path.splitext(os.path.basename(page))[0]
        assert ('index.html' if name == 'index' else f'{name}/index.html') in built


@pytest.mark.parametrize('planted, message', [
    ('[gone](no_such_page.md)', "contains a link 'no_such_page.md'"),
    ('[gone](pretraining.md#no-such-section)', "does not contain an anchor '#no-such-section'"),
    ('[outside](../setup.py)', "contains a link '../setup.py'"),
])
def test_a_planted_broken_link_fails_the_strict_build(tmp_path, planted, message):
    shutil.copytree(os.path.join(REPO, 'docs'), tmp_path / 'docs')
    shutil.copy(os.path.join(REPO, 'mkdocs.yml'), tmp_path / 'mkdocs.yml')
    (tmp_path / 'setup.py').write_text('')  # the file exists, but outside the site
    with open(tmp_path / 'docs' / 'export.md', 'a') as f:
        f.write(f'\nSee {planted}.\n')
    out = mkdocs_build(str(tmp_path), tmp_path / 'site')
    assert out.returncode != 0
    assert message in out.stderr + out.stdout
