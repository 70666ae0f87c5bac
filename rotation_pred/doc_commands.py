"""Documented command lines that cannot go stale: check every command of the docs'
code blocks against the repository, without running anything.

For each fenced code block of ``README.md`` and ``docs/**/*.md`` (```` ```bash ````,
```` ```sh ````, ```` ```shell ````, ```` ```console ```` or no language at all):

* the block is read as a shell would: comments dropped, backslash-continued lines
  joined, a leading ``$ `` prompt removed (where a block has prompts, only the prompt
  lines are commands: the rest is output), each line split with :mod:`shlex` into simple
  commands at ``&&``, ``||``, ``;``, ``|`` and ``&``, redirections dropped, ``VAR=value``
  prefixes taken as the command's environment, ``VAR=value`` lines and ``export`` kept
  for the ``$VAR`` of the following lines, ``cd`` followed inside the repository;
* usage notation is read as documentation: ``[--out FILE]`` is included without its
  brackets, ``[args]`` / ``[...]`` (any extra arguments) is left out, and ``a|b`` inside
  brackets gives one variant of the command per alternative;
* a Python tool of the repository (``python tools/X.py``, ``.venv/bin/python tools/X.py``,
  ``python -m rotation_pred.X``, ``torchrun [...] tools/X.py``, ``python -m
  torch.distributed.run [...] tools/X.py``) is run *up to the parsing of its command
  line*: the file is run with :func:`runpy.run_path` and ``sys.argv`` set, while
  :meth:`argparse.ArgumentParser.parse_args` (and its siblings) parse and then raise a
  private exception, so nothing after the parse executes. A parser error (usage, exit
  status 2) is a failure. Placeholders (``CONFIG``, ``N``, ``$CKPT``, ``<dir>``) pass
  typed options and ``choices`` (see :func:`is_placeholder`);
* a shell launcher of the repository (``bash tools/X.sh``, ``tools/dist_train.sh ...``)
  must exist; the launchers of :data:`LAUNCHERS`, which pass their extra arguments on to
  a Python tool, have that tool parse what they would pass;
* every argument naming a config under ``configs/`` must exist and load
  (:func:`check_config`: ``Config.fromfile`` after ``import rotation_pred``, then the
  model built from it), once per config; ``mim`` commands only need their config to
  exist.

What it does not see: checks a tool makes after ``parse_args`` returns (such as
``parser.error`` on a combination of options), tools whose package module has no
argument parser at all (these must be given no arguments, and are not run), and the
inside of shell launchers outside :data:`LAUNCHERS` (only their existence).

Command line (prints every failure as ``file:line``, exit status 1 if any)::

    python -m rotation_pred.doc_commands [FILE.md ...]
"""
import argparse
import contextlib
import functools
import glob
import importlib.util
import io
import os
import os.path as osp
import re
import runpy
import shlex
import sys
import warnings
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from .fileio import REPO_ROOT

#: Languages of the fenced code blocks that hold shell commands ('' is no language).
SHELL_LANGUAGES = ('', 'bash', 'sh', 'shell', 'console', 'shell-session', 'zsh')
#: The package whose ``python -m`` modules are tools of the repository.
PACKAGE = 'rotation_pred'
#: Words put in front of a command that leave it the same command.
WRAPPERS = ('env', 'time', 'nohup', 'exec', 'command')
#: Optional groups of usage notation that stand for "any further arguments".
REST_OF_ARGS = re.compile(r'^(\.\.\.|(extra |other |more )?(args|arguments|options|flags)'
                          r'( \.\.\.|\.\.\.)?)$', re.I)
#: torchrun / torch.distributed.run options that take no value.
TORCHRUN_FLAGS = ('--standalone', '--no-python', '--no_python', '--run-path',
                  '--run_path', '-m', '--module')
#: Python interpreter options that take a value (``-W ignore``).
PYTHON_OPTIONS_WITH_VALUE = ('-W', '-X')
_PYTHON = re.compile(r'^python(\d+(\.\d+)*)?$')
_VARIABLE = re.compile(r'\$(\w+)|\$\{(\w+)\}')
_ASSIGNMENT = re.compile(r'^[A-Za-z_]\w*=')
_CONFIG = re.compile(r'^(\./)?configs/[\w./+-]+\.py$')


# ----------------------------------------------------------------- reading the docs
class Command(NamedTuple):
    """One simple command of a doc, ready to check.

    ``path`` and ``line``: the doc (relative to the repository root) and the line the
    command starts on; ``text``: its logical line as written (continuations joined);
    ``words``: the program and its arguments (environment prefix removed, known
    ``$VAR`` expanded, usage notation resolved for one variant); ``env``: its
    ``VAR=value`` prefix; ``cwd``: its working directory relative to the root (None
    after a ``cd`` out of the repository: such commands are not checked);
    ``lines``: ``(line number, text)`` of the physical lines it spans.
    """
    path: str
    line: int
    text: str
    words: Tuple[str, ...]
    env: Tuple[Tuple[str, str], ...]
    cwd: Optional[str]
    lines: Tuple[Tuple[int, str], ...]


class Failure(NamedTuple):
    """A documented command that does not work: where, what, and why."""
    path: str
    line: int
    command: str
    message: str

    def __str__(self) -> str:
        return f'{self.path}:{self.line}: {self.message}\n    {self.command}'


def fenced_blocks(text: str) -> Iterator[Tuple[str, List[Tuple[int, str]]]]:
    """The fenced code blocks of a markdown ``text``: ``(language, lines)`` where
    ``lines`` are ``(line number, text)`` (1-based), the fence's indentation removed.
    Fences of backquotes or tildes, three or more, indented (inside list items) or not;
    an unclosed block runs to the end of the text."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(' ')
        if fence is None:
            match = re.match(r'(`{3,}|~{3,})\s*([\w+-]*)', stripped)
            if match:
                indent = len(line) - len(stripped)
                fence, language, lines = match.group(1), match.group(2).lower(), []
        elif stripped.startswith(fence) and not stripped.strip(fence[0]).strip():
            yield language, lines
            fence = None
        else:
            cut = min(indent, len(line) - len(line.lstrip(' ')))
            lines.append((number, line[cut:]))
    if fence is not None:
        yield language, lines


def strip_comment(line: str) -> str:
    """``line`` without its shell comment: from a ``#`` that starts a word, outside
    quotes, to the end."""
    quote, escaped = None, False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == '\\' and quote != "'":
            escaped = True
        elif quote:
            quote = None if char == quote else quote
        elif char in '\'"':
            quote = char
        elif char == '#' and (i == 0 or line[i - 1] in ' \t;&|('):
            return line[:i]
    return line


def logical_lines(lines: Sequence[Tuple[int, str]]
                  ) -> Iterator[Tuple[int, str, Tuple[Tuple[int, str], ...]]]:
    """The command lines of a block's ``lines`` (``(number, text)``): comments dropped,
    backslash-continued lines joined, ``$ `` prompts removed. Where a block has prompt
    lines, the lines that are neither prompts nor their continuations are output and
    left out. Yields ``(first line number, joined text, physical lines)``."""
    prompted = any(text.lstrip().startswith('$ ') for _, text in lines)
    parts, physical, continued = [], [], False
    for number, text in lines:
        if not continued:
            body = text.lstrip()
            if prompted:
                if not body.startswith('$ '):
                    continue
                body = body[2:]
            parts, physical = [], []
        else:
            body = text
        physical.append((number, text))
        body = strip_comment(body)
        continued = bool(re.search(r'(?<!\\)(\\\\)*\\$', body))
        parts.append(body[:-1] if continued else body)
        if not continued and ''.join(parts).strip():
            yield physical[0][0], _joined(parts), tuple(physical)
    if continued and ''.join(parts).strip():
        yield physical[0][0], _joined(parts), tuple(physical)


def _joined(parts: List[str]) -> str:
    """The parts of a continued line as one line (the spaces after a last backslash
    kept: they escape a space, as in the shell)."""
    last = parts[-1].strip()
    if re.search(r'(?<!\\)(\\\\)*\\$', last):
        last = parts[-1].lstrip()
    return ' '.join([p.strip() for p in parts[:-1]] + [last])


def usage_variants(text: str) -> List[str]:
    """``text`` with its usage notation resolved: ``[X]`` becomes ``X``, a group that
    stands for any further arguments (``[args]``, ``[...]``) and a bare ``...`` are
    left out, and alternatives ``a|b`` inside brackets give one variant each (the i-th
    variant takes the i-th alternative of every choice, or its last)."""
    group = re.compile(r'(?<![^\s])\[([^\[\]]*)\](?![^\s])')
    choices = []

    def resolve(match):
        inner = match.group(1)
        if REST_OF_ARGS.match(inner.strip()):
            return ''

        def choice(word):
            choices.append(word.group(0).split('|'))
            return f'\0{len(choices) - 1}\0'
        return re.sub(r'[^\s|\[\]]+(\|[^\s|\[\]]+)+', choice, inner)

    previous = None
    while previous != text:
        previous, text = text, group.sub(resolve, text)
    text = re.sub(r'(?<![^\s])\.\.\.(?![^\s])', '', text)
    count = max((len(c) for c in choices), default=1)
    return [re.sub(r'\0(\d+)\0', lambda m: choices[int(m.group(1))][
        min(i, len(choices[int(m.group(1))]) - 1)], text) for i in range(count)]


def split_commands(text: str) -> List[List[str]]:
    """The simple commands of a command line: :mod:`shlex` words, split at ``&&``,
    ``||``, ``;``, ``|`` and ``&``, redirections (``> FILE``, ``2>&1``) dropped.
    ValueError where the line cannot be split (an unclosed quote)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars='|&;<>')
    lexer.whitespace_split = True
    lexer.commenters = ''
    tokens = list(lexer)
    commands, words, skip = [], [], False
    for i, token in enumerate(tokens):
        if skip:
            skip = False
        elif token and set(token) <= set('|&;'):
            commands.append(words)
            words = []
        elif token and set(token) <= set('<>&') and ('<' in token or '>' in token):
            if words and words[-1].isdigit() and i and tokens[i - 1] == words[-1]:
                words.pop()  # the file descriptor of "2>"
            skip = True
        else:
            words.append(token)
    commands.append(words)
    return [c for c in commands if c]


def expand(word: str, variables: Dict[str, str]) -> str:
    """``word`` with the ``$VAR`` / ``${VAR}`` it names in ``variables`` expanded; other
    variables stay as written (placeholders)."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)),
                         word)


def commands_in_markdown(text: str, path: str = '<markdown>',
                         root: str = REPO_ROOT) -> List[Command]:
    """Every simple command of the shell code blocks of a markdown ``text`` (see the
    module docstring); ``path`` names the doc in the commands. A line that cannot be
    split (an unclosed quote) gives a :class:`Command` whose ``words`` are empty and
    whose ``text`` is the line; :func:`check_command` reports it where it looks like
    a command of the repository."""
    found = []
    for language, lines in fenced_blocks(text):
        if language not in SHELL_LANGUAGES:
            continue
        state = ({}, '.')  # the variables set so far, the working directory
        for line, joined, physical in logical_lines(lines):
            next_state = state
            for index, variant in enumerate(usage_variants(joined)):
                variables, cwd = dict(state[0]), state[1]  # each variant from the start
                try:
                    commands = split_commands(variant)
                except ValueError:
                    found.append(Command(path, line, joined, (), (), cwd, physical))
                    continue
                for words in commands:
                    words, env = [expand(w, variables) for w in words], []
                    while words and (_ASSIGNMENT.match(words[0]) or words[0] in WRAPPERS):
                        if _ASSIGNMENT.match(words[0]):
                            env.append(tuple(words[0].split('=', 1)))
                        words.pop(0)
                    if not words or words[0] == 'export':
                        for word in (words[1:] if words else []):
                            if _ASSIGNMENT.match(word):
                                env.append(tuple(word.split('=', 1)))
                        variables.update(env)
                        continue
                    if words[0] == 'cd':
                        cwd = change_directory(cwd, words[1:], root)
                        continue
                    found.append(Command(path, line, joined, tuple(words), tuple(env),
                                         cwd, physical))
                if index == 0:
                    next_state = (variables, cwd)
            state = next_state
    return _unique(found)


def _unique(commands: List[Command]) -> List[Command]:
    seen, unique = set(), []
    for command in commands:
        key = (command.line, command.words, command.env, command.cwd)
        if key not in seen:
            seen.add(key)
            unique.append(command)
    return unique


def change_directory(cwd: Optional[str], args: Sequence[str], root: str) -> Optional[str]:
    """The working directory after ``cd args`` from ``cwd`` (relative to ``root``):
    None (unknown: the following commands are not checked) when it leaves the
    repository or names a folder the repository does not have."""
    if cwd is None or len(args) != 1 or args[0].startswith(('-', '~', '$')):
        return None
    target = osp.normpath(osp.join(root, cwd, args[0]))
    if not osp.isdir(target) or osp.relpath(target, root).startswith('..'):
        return None
    return osp.relpath(target, root)


# ------------------------------------------------------------- what a command calls
class Call(NamedTuple):
    """What a command asks of the repository. ``kind``: ``'tool'`` (a Python file of
    ``tools/``, ``target`` its path relative to the root), ``'module'`` (``python -m``
    of the package, ``target`` the module), ``'launcher'`` (a shell script of
    ``tools/``), ``'mim'``; ``argv``: the arguments it gets."""
    kind: str
    target: str
    argv: Tuple[str, ...]


def is_python(word: str) -> bool:
    """Whether a program word is a Python interpreter: ``python``, ``python3.11``,
    ``.venv/bin/python``, ``$PYTHON``."""
    return bool(_PYTHON.match(osp.basename(word))) or word in ('$PYTHON', '${PYTHON}')


def _in_repository(path: str, cwd: str, root: str, folder: str) -> Optional[str]:
    """``path`` (relative to ``cwd``) relative to ``root`` where it lies in ``folder``."""
    if osp.isabs(path) or path.startswith(('~', '$')):
        return None
    relative = osp.relpath(osp.normpath(osp.join(root, cwd, path)), root)
    return relative if relative.startswith(folder + os.sep) else None


def _script_call(args: Sequence[str], module: bool, cwd: str, root: str) -> Optional[Call]:
    """The call of ``SCRIPT ARGS`` (``MODULE ARGS`` where ``module``)."""
    if not args:
        return None
    if module:
        if args[0] == PACKAGE or args[0].startswith(PACKAGE + '.'):
            return Call('module', args[0], tuple(args[1:]))
        if args[0] in ('torch.distributed.run', 'torch.distributed.launch'):
            return _torchrun_call(args[1:], cwd, root)
        return None
    tool = _in_repository(args[0], cwd, root, 'tools')
    return Call('tool', tool, tuple(args[1:])) if tool and tool.endswith('.py') else None


def _torchrun_call(args: Sequence[str], cwd: str, root: str) -> Optional[Call]:
    """The call of ``torchrun [OPTIONS] SCRIPT ARGS``: options with a value (``--nnodes
    2``, ``--nproc_per_node=8``) and flags (:data:`TORCHRUN_FLAGS`) are skipped."""
    i, module = 0, False
    while i < len(args) and args[i].startswith('-'):
        option = args[i]
        module = module or option in ('-m', '--module')
        takes_value = '=' not in option and option not in TORCHRUN_FLAGS
        i += 2 if takes_value and i + 1 < len(args) and not args[i + 1].endswith('.py') else 1
    return _script_call(args[i:], module, cwd, root)


def classify(command: Command, root: str = REPO_ROOT) -> Optional[Call]:
    """What ``command`` asks of the repository (:class:`Call`), or None for a command
    that calls nothing of it (``pip``, ``git``, ``python -m pytest``...) or runs in an
    unknown folder."""
    if command.cwd is None or not command.words:
        return None
    program, args = command.words[0], list(command.words[1:])
    if is_python(program):
        i = 0
        while i < len(args) and args[i].startswith('-') and args[i] != '-m':
            if args[i] == '-c':
                return None
            i += 2 if args[i] in PYTHON_OPTIONS_WITH_VALUE else 1
        module = i < len(args) and args[i] == '-m'
        return _script_call(args[i + 1 if module else i:], module, command.cwd, root)
    if osp.basename(program) == 'torchrun':
        return _torchrun_call(args, command.cwd, root)
    if program == 'mim':
        return Call('mim', 'mim', tuple(args))
    if program in ('bash', 'sh', 'source', '.'):
        while args and args[0].startswith('-') and program in ('bash', 'sh'):
            if args[0] == '-c':
                return None
            args.pop(0)
        program, args = (args[0], args[1:]) if args else ('', [])
    elif not program.endswith('.sh'):
        return None
    script = _in_repository(program, command.cwd, root, 'tools')
    return Call('launcher', script, tuple(args)) if script else None


# ------------------------------------------------------------ the shell launchers
class Launcher(NamedTuple):
    """A shell launcher that passes its arguments on to a Python tool: ``tool`` (path
    from the root), ``usage``, ``positionals`` (how many arguments it needs), and
    ``argv``: the tool's arguments from the launcher's arguments and environment."""
    tool: str
    usage: str
    positionals: int
    argv: Callable[[List[str], Dict[str, str]], List[str]]


def _slurm_train(a, env):
    """slurm_train.sh PARTITION JOB CONFIG [WORK_DIR] [args] (AUTO_RESUME=1 default)."""
    work_dir = ['--work-dir', a[3]] if len(a) > 3 and a[3] else []
    resume = ['--resume'] if env.get('AUTO_RESUME', '1') == '1' else []
    return [a[2], '--launcher', 'slurm', *resume, *work_dir, *a[4:]]


def _evaluate(protocols, variable):
    """common.sh's ``evaluate``: CONFIG CHECKPOINT GPUS, the launcher's protocols and
    the extra flags of the environment variable ``variable``, then [args]."""
    def argv(a, env):
        return [a[0], a[1], '--work-dir', 'WORK_DIR', '--name', 'NAME', '--protocols',
                *protocols, *shlex.split(env.get(variable, '')), *a[3:],
                '--launcher', 'pytorch']
    return argv


def _train_linear(a, env):
    """CONFIG PRETRAINED_CHECKPOINT GPUS [args], the backbone extracted first."""
    return [a[0], '--backbone', 'BACKBONE', '--name', 'NAME', '--work-dir', 'WORK_DIR',
            *a[3:], '--launcher', 'pytorch']


def _transfer(a, env):
    """dist_transfer.sh CONFIG PRETRAINED GPUS [args]."""
    return [a[0], '--cfg-options', f'model.backbone.init_cfg.checkpoint={a[1]}', *a[3:],
            '--launcher', 'pytorch']


def _transfer_c4(a, env):
    """dist_train_c4.sh: dist_transfer.sh with the shared head's checkpoint too."""
    return _transfer([*a[:3], '--cfg-options',
                      f'model.roi_head.shared_head.init_cfg.checkpoint={a[1]}', *a[3:]], env)


_BENCH = 'tools/benchmarks/classification'
#: The launchers of ``tools/`` that pass arguments on to a Python tool, with what they
#: pass (as the scripts do; tests/test_doc_commands.py checks each script names its tool).
LAUNCHERS: Dict[str, Launcher] = {
    'tools/dist_train.sh': Launcher(
        'tools/train.py', 'CONFIG GPUS [args]', 2,
        lambda a, env: [a[0], *a[2:], '--launcher', 'pytorch']),
    'tools/dist_test.sh': Launcher(
        'tools/test.py', 'CONFIG CHECKPOINT GPUS [args]', 3,
        lambda a, env: [a[0], a[1], *a[3:], '--launcher', 'pytorch']),
    'tools/slurm_train.sh': Launcher(
        'tools/train.py', 'PARTITION JOB_NAME CONFIG [WORK_DIR] [args]', 3, _slurm_train),
    'tools/slurm_submit.sh': Launcher(
        'tools/train.py', 'PARTITION JOB_NAME CONFIG [WORK_DIR] [args]', 3, _slurm_train),
    f'{_BENCH}/dist_train_linear.sh': Launcher(
        f'{_BENCH}/train_linear.py', 'CONFIG PRETRAINED_CHECKPOINT GPUS [args]', 3,
        _train_linear),
    f'{_BENCH}/semi_supervised/dist_train_semi.sh': Launcher(
        f'{_BENCH}/train_linear.py', 'CONFIG PRETRAINED_CHECKPOINT GPUS [args]', 3,
        _train_linear),
    f'{_BENCH}/knn/dist_test_knn.sh': Launcher(
        'tools/benchmarks/evaluate.py', 'CONFIG PRETRAINED_CHECKPOINT GPUS [args]', 3,
        _evaluate(['knn'], 'KNN_ARGS')),
    f'{_BENCH}/svm_voc07/dist_test_svm.sh': Launcher(
        'tools/benchmarks/evaluate.py', 'CONFIG PRETRAINED_CHECKPOINT GPUS [args]', 3,
        _evaluate(['svm', 'low_shot'], 'SVM_ARGS')),
    'tools/benchmarks/dist_transfer.sh': Launcher(
        'tools/benchmarks/transfer_train.py', 'CONFIG PRETRAINED GPUS [args]', 3, _transfer),
    'tools/benchmarks/mmdetection/dist_train.sh': Launcher(
        'tools/benchmarks/transfer_train.py', 'CONFIG PRETRAINED GPUS [args]', 3, _transfer),
    'tools/benchmarks/mmdetection/dist_train_c4.sh': Launcher(
        'tools/benchmarks/transfer_train.py', 'CONFIG PRETRAINED GPUS [args]', 3,
        _transfer_c4),
    'tools/benchmarks/mmsegmentation/dist_train.sh': Launcher(
        'tools/benchmarks/transfer_train.py', 'CONFIG PRETRAINED GPUS [args]', 3, _transfer),
}


# ---------------------------------------------------------- parsing, nothing more
class _Parsed(BaseException):
    """Raised by the patched parser once the command line is parsed (a BaseException,
    so that no ``except Exception`` of a tool catches it)."""

    def __init__(self, namespace):
        super().__init__('parsed')
        self.namespace = namespace


def is_placeholder(value: str) -> bool:
    """Whether a documented argument stands for a value the reader supplies:
    ``CONFIG``, ``N``, ``WORK_DIR`` (capitals), ``$CKPT`` / ``${GPUS}`` (a variable the
    doc does not set), ``<dir>``."""
    return bool(re.match(r'^([A-Z][A-Z0-9_]*|\$\w+|\$\{\w+\}|<[^<>]+>)$', value))


class _PlaceholderChoices:
    """``choices`` that also hold every placeholder."""

    def __init__(self, choices):
        self.choices = choices

    def __contains__(self, value):
        return (isinstance(value, str) and is_placeholder(value)) or value in self.choices

    def __iter__(self):
        return iter(self.choices)

    def __len__(self):
        return len(self.choices)


def _placeholder_type(convert):
    def accept(value):
        return value if is_placeholder(value) else convert(value)
    accept.__name__ = getattr(convert, '__name__', repr(convert))
    return accept


@contextlib.contextmanager
def _placeholders_accepted(parser: argparse.ArgumentParser):
    """Within: the options of ``parser`` (and of its sub-parsers) take placeholders
    whatever their ``type`` and ``choices``."""
    saved = []

    def visit(p):
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    visit(sub)
                continue
            saved.append((action, action.type, action.choices))
            if callable(action.type):
                action.type = _placeholder_type(action.type)
            if action.choices is not None:
                action.choices = _PlaceholderChoices(action.choices)
    visit(parser)
    try:
        yield
    finally:
        for action, kind, choices in saved:
            action.type, action.choices = kind, choices


_PARSE_METHODS = ('parse_args', 'parse_known_args', 'parse_intermixed_args',
                  'parse_known_intermixed_args')


@contextlib.contextmanager
def parse_and_stop():
    """Within: the first (outermost) ``parse_args`` / ``parse_known_args`` /
    ``parse_*intermixed_args`` of any ArgumentParser parses, placeholders accepted,
    then raises :class:`_Parsed` with the namespace. Nested calls (``parse_args`` calls
    ``parse_known_args``; sub-parsers) run as usual."""
    depth = [0]
    originals = {name: getattr(argparse.ArgumentParser, name) for name in _PARSE_METHODS
                 if hasattr(argparse.ArgumentParser, name)}

    def patch(original):
        @functools.wraps(original)
        def parse(self, *args, **kwargs):
            if depth[0]:
                return original(self, *args, **kwargs)
            depth[0] += 1
            try:
                with _placeholders_accepted(self):
                    result = original(self, *args, **kwargs)
            finally:
                depth[0] -= 1
            raise _Parsed(result)
        return parse

    for name, original in originals.items():
        setattr(argparse.ArgumentParser, name, patch(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(argparse.ArgumentParser, name, original)


def _source(path: Optional[str]) -> str:
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except (OSError, TypeError):
        return ''


def _module_file(module: str) -> Optional[str]:
    """The source file ``python -m module`` runs (``__main__.py`` of a package), found
    without importing the module itself."""
    try:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(module + '.__main__')
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None else None


def has_parser(path: str) -> bool:
    """Whether the Python file ``path`` (a tool of ``tools/``) builds an argument
    parser: its own text or that of a module of the package it imports from names
    ``ArgumentParser``. A tool without one is not run: it would not stop."""
    text = _source(path)
    if 'ArgumentParser' in text:
        return True
    for module in re.findall(rf'^\s*from\s+({PACKAGE}(?:\.\w+)*)\s+import', text, re.M):
        if 'ArgumentParser' in _source(_module_file(module)):
            return True
    return False


@contextlib.contextmanager
def _isolated(argv: List[str], env: Dict[str, str], cwd: str, path_entry: Optional[str]):
    """Within: ``sys.argv``, the environment, the working directory, ``sys.path[0]``
    as the command would have them, warnings and output captured (the output is the
    yielded StringIO); all restored afterwards."""
    saved_argv, saved_path, saved_env = sys.argv[:], sys.path[:], dict(os.environ)
    saved_cwd, output = os.getcwd(), io.StringIO()
    try:
        sys.argv = argv
        if path_entry:
            sys.path.insert(0, path_entry)
        os.environ.update(env)
        os.chdir(cwd)
        with warnings.catch_warnings(), contextlib.redirect_stdout(output), \
                contextlib.redirect_stderr(output):
            warnings.simplefilter('ignore')
            yield output
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        sys.argv = saved_argv


def parse_command_line(kind: str, target: str, argv: Sequence[str],
                       env: Optional[Dict[str, str]] = None, cwd: str = '.',
                       root: str = REPO_ROOT) -> Optional[str]:
    """Have the tool ``target`` (``kind`` ``'tool'``: a file relative to ``root``;
    ``'module'``: a module) parse ``argv`` with its own parser, running nothing after
    the parse. Returns None where the parser accepts ``argv`` (or prints the help),
    else the error: the parser's message, or what went wrong before it parsed."""
    if kind == 'tool':
        path = osp.join(root, target)
        if not osp.isfile(path):
            return f'no such tool: {target}'
    else:
        path = _module_file(target)
        if path is None:
            return f'no such module: python -m {target}'
    if not has_parser(path):
        return (f'{target} has no argument parser, yet is given arguments: '
                f'{shlex.join(argv)}' if argv else None)
    program = path if kind == 'tool' else target
    entry = osp.dirname(path) if kind == 'tool' else osp.join(root, cwd)
    with _isolated([program, *argv], env or {}, osp.join(root, cwd), entry) as output:
        try:
            with parse_and_stop():
                if kind == 'tool':
                    runpy.run_path(path, run_name='__main__')
                else:
                    runpy.run_module(target, run_name='__main__', alter_sys=True)
        except _Parsed:
            return None
        except SystemExit as e:
            if e.code in (0, None):
                return None  # --help, --version
            lines = [line for line in output.getvalue().splitlines() if line.strip()]
            errors = [line for line in lines if ': error: ' in line]
            return (errors or lines or [f'exit status {e.code!r}'])[-1]
        except Exception as e:  # noqa: BLE001 (the tool broke before parsing)
            return f'{target} failed before parsing its arguments: {type(e).__name__}: {e}'
    return f'{target} ran to its end without parsing its arguments'


# ---------------------------------------------------------------------- configs
#: Configs whose model could not be built here, with why (a package not installed).
UNCHECKED_CONFIGS: Dict[str, str] = {}


_INIT_FUNCTIONS = ('uniform_', 'normal_', 'trunc_normal_', 'constant_', 'ones_', 'zeros_',
                   'eye_', 'dirac_', 'xavier_uniform_', 'xavier_normal_', 'kaiming_uniform_',
                   'kaiming_normal_', 'orthogonal_', 'sparse_')


@contextlib.contextmanager
def _uninitialised():
    """Within: the ``torch.nn.init`` functions leave their tensor as it is (layers are
    built without the cost of drawing their weights)."""
    import torch
    saved = {name: getattr(torch.nn.init, name) for name in _INIT_FUNCTIONS
             if hasattr(torch.nn.init, name)}
    for name in saved:
        setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)
    try:
        with torch.no_grad():
            yield
    finally:
        for name, function in saved.items():
            setattr(torch.nn.init, name, function)


def _build_model(cfg, scope: str) -> None:
    """``MODELS.build(cfg.model)`` under ``scope``: on the meta device (no memory, no
    initialisation), else (MMPretrain's ResNet calls ``.item()`` while it is built,
    which the meta device refuses) on the CPU with the weights left undrawn."""
    import torch
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope(scope):
        try:
            with torch.device('meta'):
                MODELS.build(cfg.model)
        except Exception:  # noqa: BLE001 (e.g. .item() of a meta tensor)
            with _uninitialised():
                MODELS.build(cfg.model)


@functools.lru_cache(maxsize=None)
def check_config(path: str) -> Optional[str]:
    """None where the config file ``path`` loads (``Config.fromfile`` after ``import
    rotation_pred``) and, where it has a ``model``, the model builds under its
    ``default_scope`` (default ``mmpretrain``); else the error. Each file is checked
    once. A config of a package that is not installed (``_base_ = 'mmdet::...'``
    without MMDetection) is only listed in :data:`UNCHECKED_CONFIGS`."""
    if not osp.isfile(path):
        return 'config file not found'
    text = _source(path)
    missing = sorted(p for p in set(re.findall(r'[\'"](\w+)::', text))
                     if importlib.util.find_spec(p) is None)
    if missing:
        UNCHECKED_CONFIGS[path] = f'{", ".join(missing)} not installed'
        return None
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter('ignore')
        try:
            importlib.import_module(PACKAGE)  # registers the plugin
            from mmengine.config import Config
            cfg = Config.fromfile(path)
        except Exception as e:  # noqa: BLE001
            return f'config does not load: {type(e).__name__}: {e}'
        if cfg.get('model') is None:
            return None
        scope = cfg.get('default_scope', None) or 'mmpretrain'
        if importlib.util.find_spec(scope) is None:
            UNCHECKED_CONFIGS[path] = f'model not built: {scope} not installed'
            return None
        try:
            _build_model(cfg, scope)
        except Exception as e:  # noqa: BLE001
            return f'model of the config does not build: {type(e).__name__}: {e}'
    return None


def config_arguments(words: Sequence[str]) -> List[str]:
    """The arguments of ``words`` that name a config under ``configs/`` (also as the
    value of ``--option=PATH`` or ``key=PATH``), placeholders (``...``, ``<``, ``{``,
    ``*``, ``$``) and the user's own ``configs/my_*`` left out."""
    found = []
    for word in words:
        value = word.rsplit('=', 1)[-1]
        if (_CONFIG.match(value) and not re.search(r'\.\.\.|[<{*$]', value)
                and not osp.basename(value).startswith('my_')):
            found.append(value)
    return found


# --------------------------------------------------------------------- checking
def _line_of(command: Command, message: str) -> int:
    """The doc line of the word that ``message`` names (an unknown flag on a
    continuation line), else the line the command starts on."""
    named = re.findall(r"'([^']+)'|(?<![\w-])(--?[A-Za-z][\w-]*)", message)
    unrecognized = re.search(r'unrecognized arguments: (.*)$', message)
    words = [a or b for a, b in named]
    if unrecognized:
        words = unrecognized.group(1).split() + words
    for word in words:
        for number, text in command.lines:
            if re.search(rf'(?<![^\s=\'"]){re.escape(word)}(?![^\s=\'"\\])', text):
                return number
    return command.line


def check_command(command: Command, root: str = REPO_ROOT) -> List[Failure]:
    """The failures of one documented command (see the module docstring); none for a
    command that calls nothing of the repository."""
    def failure(message, line=None):
        return Failure(command.path, line or _line_of(command, message), command.text,
                       message)

    if not command.words:
        if re.search(r'(^|\s)(\S*python\S*|torchrun|mim|\S*tools/\S+)\s', command.text):
            return [failure('the command line cannot be split (an unclosed quote?)')]
        return []
    call = classify(command, root)
    if call is None:
        return []
    failures = [failure(f'backslash followed by spaces on line {n}: the command does '
                        'not continue there', n)
                for n, text in command.lines if re.search(r'\\[ \t]+$', strip_comment(text))]
    env = dict(command.env)
    for config in config_arguments(call.argv):
        path = osp.normpath(osp.join(root, command.cwd, config))
        error = ('config file not found' if call.kind == 'mim' and not osp.isfile(path)
                 else None if call.kind == 'mim' else check_config(path))
        if error:
            failures.append(failure(f'{config}: {error}', _line_of(command, f"'{config}'")))
    if call.kind in ('tool', 'module'):
        error = parse_command_line(call.kind, call.target, call.argv, env, command.cwd, root)
        if error:
            failures.append(failure(error))
    elif call.kind == 'launcher':
        if not osp.isfile(osp.join(root, call.target)):
            failures.append(failure(f'no such launcher: {call.target}'))
        elif call.target in LAUNCHERS:
            launcher = LAUNCHERS[call.target]
            if len(call.argv) < launcher.positionals:
                failures.append(failure(f'{call.target} needs {launcher.usage}'))
            else:
                error = parse_command_line('tool', launcher.tool,
                                           launcher.argv(list(call.argv), env), env,
                                           command.cwd, root)
                if error:
                    failures.append(failure(f'{call.target} passes {launcher.tool} '
                                            f'arguments it refuses: {error}'))
    return failures


def check_markdown(text: str, path: str = '<markdown>',
                   root: str = REPO_ROOT) -> List[Failure]:
    """The failures of every command of a markdown ``text`` (``path`` names it in
    them), in the order of the text, each reported once."""
    failures = []
    for command in commands_in_markdown(text, path, root):
        failures.extend(f for f in check_command(command, root) if f not in failures)
    return failures


def doc_files(root: str = REPO_ROOT) -> List[str]:
    """``README.md`` and ``docs/**/*.md`` of ``root``, relative to it."""
    docs = sorted(glob.glob(osp.join(root, 'docs', '**', '*.md'), recursive=True))
    files = ([osp.join(root, 'README.md')] if osp.isfile(osp.join(root, 'README.md'))
             else []) + docs
    return [osp.relpath(f, root) for f in files]


def check_file(path: str, root: str = REPO_ROOT) -> List[Failure]:
    """The failures of the doc ``path`` (relative to ``root``)."""
    with open(osp.join(root, path), encoding='utf-8') as f:
        return check_markdown(f.read(), path, root)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Check the docs named on the command line (default: :func:`doc_files`), print
    each failure, return (exit with) 1 if there is any."""
    parser = argparse.ArgumentParser(prog='python -m rotation_pred.doc_commands',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('files', nargs='*', help='markdown files, relative to the '
                        'repository root (default: README.md and docs/**/*.md)')
    args = parser.parse_args(argv)
    files = args.files or doc_files()
    failures, commands = [], 0
    for path in files:
        with open(osp.join(REPO_ROOT, path), encoding='utf-8') as f:
            text = f.read()
        commands += sum(classify(c) is not None for c in commands_in_markdown(text, path))
        failures += check_markdown(text, path)
    for failure in failures:
        print(failure)
    for path, why in sorted(UNCHECKED_CONFIGS.items()):
        print(f'not checked: {osp.relpath(path, REPO_ROOT)}: {why}')
    print(f'{commands} commands of the repository in {len(files)} files, '
          f'{len(failures)} failures')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
