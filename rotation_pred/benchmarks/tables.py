"""Markdown tables in the layout of the model-zoo tables."""
from typing import List, Sequence


def markdown_table(header: Sequence[str], rows: List[Sequence[str]]) -> str:
    """A GitHub markdown table with columns padded to equal width."""
    cells = [list(map(str, header))] + [list(map(str, r)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ['| ' + ' | '.join(c.ljust(w) for c, w in zip(row, widths)) + ' |'
             for row in cells]
    lines.insert(1, '|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    return '\n'.join(lines)
