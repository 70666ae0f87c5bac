"""The table of what ``import rotation_pred`` registers (the docs' ``registry`` section),
drawn from the registries themselves (every class or function of the package in any
MMPretrain or MMEngine registry, with its file), so that it cannot miss one."""
import inspect
import re
import os.path as osp
from typing import List, Tuple

from .fileio import REPO_ROOT


def first_sentence(docstring: str) -> str:
    """The first sentence of ``docstring`` (up to a full stop or a colon followed by a
    space) on one line, reST roles and double backquotes turned into markdown code."""
    text = ' '.join(docstring.split('\n\n')[0].split())
    text = re.sub(r':\w+:`~?([^`]+)`', r'`\1`', text).replace('``', '`')
    return re.split(r'(?<=\.)\s|:\s', text, maxsplit=1)[0]


def registered() -> List[Tuple[str, str, str, str]]:
    """``(registry, name, file, summary)`` of every entry the package registers, sorted
    by registry and name; ``file`` relative to the repository, ``summary`` the first
    line of the docstring."""
    import mmengine.registry
    import mmpretrain.registry
    from mmengine.registry import Registry

    import rotation_pred  # noqa: F401  (registers everything)
    entries = []
    scanned = [(name, registry) for module in (mmpretrain.registry, mmengine.registry)
               for name, registry in vars(module).items() if isinstance(registry, Registry)]
    for registry_name, registry in scanned:
        for name, obj in registry.module_dict.items():
            if not getattr(obj, '__module__', '').startswith('rotation_pred.'):
                continue
            path = osp.relpath(inspect.getsourcefile(obj), REPO_ROOT)
            summary = first_sentence(inspect.getdoc(obj) or '')
            entries.append((registry_name, name, path, summary))
    return sorted(set(entries))


def markdown() -> str:
    """The table: ``| registry | name | file | what it is |``."""
    lines = ['| registry | name | file | what it is |', '|---|---|---|---|']
    lines += [f'| {registry} | `{name}` | `{path}` | {summary.replace("|", "/")} |'
              for registry, name, path, summary in registered()]
    return '\n'.join(lines)
