"""The command lines the docs show cannot go stale: every command of README.md and
docs/**/*.md that calls a tool of the repository is parsed by that tool's own parser
(nothing runs), its launcher exists and every config it names loads and builds
(rotation_pred/doc_commands.py). The other tests plant broken commands and show that
each is reported, with its doc and line."""
import os
import re
import sys
import textwrap

import pytest

from rotation_pred import doc_commands
from rotation_pred.doc_commands import (LAUNCHERS, check_config, check_markdown,
                                        commands_in_markdown, parse_command_line)
from rotation_pred.fileio import REPO_ROOT

FMNIST = 'configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'
DOCS = doc_commands.doc_files()


def markdown(body, language='bash'):
    """A README-like page with ``body`` as its one code block (starting on line 4)."""
    return f'# A page\n\nRun:\n```{language}\n{textwrap.dedent(body).strip()}\n```\n'


def only_failure(text):
    failures = check_markdown(text, 'PLANTED.md')
    assert len(failures) == 1, '\n'.join(map(str, failures))
    return failures[0]


@pytest.mark.parametrize('doc', DOCS)
def test_every_documented_command_works(doc):
    failures = doc_commands.check_file(doc)
    assert not failures, (f'{len(failures)} documented commands of {doc} do not work:\n'
                          + '\n'.join(map(str, failures)))


def test_the_docs_have_commands_of_the_repository_to_check():
    kinds = [call.kind for doc in DOCS
             for command in commands_in_markdown(open(os.path.join(REPO_ROOT, doc)).read())
             for call in [doc_commands.classify(command)] if call]
    assert kinds.count('tool') >= 10 and kinds.count('launcher') >= 10, kinds


def test_a_planted_unknown_flag_is_reported_with_its_file_and_line():
    failure = only_failure(markdown(f"""
        pip install -e .
        python tools/train.py {FMNIST} --no-such-flag
    """))
    assert (failure.path, failure.line) == ('PLANTED.md', 6)
    assert 'unrecognized arguments: --no-such-flag' in failure.message
    assert str(failure).startswith('PLANTED.md:6: ')


def test_a_planted_missing_config_is_reported():
    failure = only_failure(markdown("""
        tools/dist_train.sh configs/no_such_config.py 8 \\
            --work-dir work_dirs/x
    """))
    assert failure.line == 5
    assert failure.message == 'configs/no_such_config.py: config file not found'


def test_a_bad_flag_on_a_continuation_line_is_reported_on_that_line():
    failure = only_failure(markdown("""
        python tools/test.py CONFIG CHECKPOINT \\
            --out metrics.json \\
            --bogus-flag    # a comment
    """))
    assert failure.line == 7
    assert 'unrecognized arguments: --bogus-flag' in failure.message
    assert failure.command == ('python tools/test.py CONFIG CHECKPOINT --out metrics.json '
                               '--bogus-flag')


def test_the_reader_follows_the_shell():
    text = markdown("""
        # a comment line
        CKPT=work_dirs/x/epoch_4.pth    # set for the lines below
        OMP_NUM_THREADS=1 python -u tools/test.py CONFIG $CKPT --out a#b.json && echo done
        cd tools; python test.py CONFIG ${CKPT} | tee log.txt > /dev/null 2>&1
        cd /somewhere/else && python tools/test.py --bogus
        """) + markdown("""
        $ python tools/benchmarks/speed.py --threads 1   # NIN
        output --that-is-no-flag
        $ python tools/benchmarks/speed.py \\
            --steps 3
        """, language='') + '\n   ~~~sh\n   python tools/benchmarks/scale.py --seed 1\n   ~~~\n'
    commands = [(c.line, c.words, dict(c.env), c.cwd) for c in commands_in_markdown(text)]
    assert commands == [
        (7, ('python', '-u', 'tools/test.py', 'CONFIG', 'work_dirs/x/epoch_4.pth', '--out',
             'a#b.json'), {'OMP_NUM_THREADS': '1'}, '.'),
        (7, ('echo', 'done'), {}, '.'),
        (8, ('python', 'test.py', 'CONFIG', 'work_dirs/x/epoch_4.pth'), {}, 'tools'),
        (8, ('tee', 'log.txt'), {}, 'tools'),
        (9, ('python', 'tools/test.py', '--bogus'), {}, None),  # unknown folder: unchecked
        (15, ('python', 'tools/benchmarks/speed.py', '--threads', '1'), {}, '.'),
        (17, ('python', 'tools/benchmarks/speed.py', '--steps', '3'), {}, '.'),
        (22, ('python', 'tools/benchmarks/scale.py', '--seed', '1'), {}, '.')]
    assert check_markdown(text) == []


def test_usage_notation_gives_one_variant_per_alternative():
    assert doc_commands.usage_variants('t.py C [--out F] [--split test|val] [args] ...') == [
        't.py C --out F --split test  ', 't.py C --out F --split val  ']
    failure = only_failure(markdown(
        'python tools/benchmarks/evaluate.py CONFIG CKPT --protocols knn [--split val|bogus]'))
    assert "invalid choice: 'bogus'" in failure.message


def test_placeholders_pass_typed_options_but_wrong_values_do_not():
    command = 'python tools/benchmarks/evaluate.py CONFIG CKPT --protocols knn --svm-samples'
    assert check_markdown(markdown(f'{command} N\n{command} ${{SAMPLES}}')) == []
    assert "invalid int value: 'ten'" in only_failure(markdown(f'{command} ten')).message


def test_launchers_pass_their_arguments_on_to_their_tool():
    failure = only_failure(markdown('tools/dist_train.sh CONFIG 8 --resume --nope'))
    assert failure.message == ('tools/dist_train.sh passes tools/train.py arguments it '
                               'refuses: tools/train.py: error: unrecognized arguments: --nope')
    assert 'needs CONFIG CHECKPOINT GPUS' in only_failure(
        markdown('tools/dist_test.sh CONFIG 8')).message
    assert 'no such launcher: tools/no_such.sh' in only_failure(
        markdown('bash tools/no_such.sh')).message
    # SVM_ARGS reaches the evaluation tool
    assert "invalid choice: 'nope'" in only_failure(markdown(
        'SVM_ARGS="--split nope" bash tools/benchmarks/classification/svm_voc07/'
        'dist_test_svm.sh CONFIG CKPT 8')).message


def script_text(path, seen=()):
    """The text of a shell script and of the scripts of tools/ it names."""
    with open(os.path.join(REPO_ROOT, path)) as f:
        text = f.read()
    folder = os.path.dirname(path)
    for name in set(re.findall(r'[\w.-]+\.sh', text)) - {os.path.basename(path)}:
        for candidate in (os.path.join(folder, name), os.path.join(folder, '..', name)):
            candidate = os.path.normpath(candidate)
            if os.path.isfile(os.path.join(REPO_ROOT, candidate)) and candidate not in seen:
                text += script_text(candidate, seen + (path, ))
    return text


@pytest.mark.parametrize('launcher', sorted(LAUNCHERS))
def test_each_launcher_of_the_table_calls_its_tool(launcher):
    tool = LAUNCHERS[launcher].tool
    assert os.path.isfile(os.path.join(REPO_ROOT, tool))
    assert os.path.basename(tool) in script_text(launcher), (
        f'{launcher} no longer names {tool}: update doc_commands.LAUNCHERS')


def test_python_tools_torchrun_modules_and_mim():
    assert 'unrecognized arguments: --bogus' in only_failure(markdown(
        'torchrun --nnodes 1 --nproc_per_node=8 tools/train.py CONFIG --launcher pytorch '
        '--bogus')).message
    assert check_markdown(markdown(
        'python -m torch.distributed.run --nproc_per_node 2 tools/train.py CONFIG '
        '--launcher pytorch\n.venv/bin/python -m rotation_pred.doc_commands README.md')) == []
    assert 'no such module' in only_failure(markdown('python -m rotation_pred.no_such')).message
    assert 'no such tool' in only_failure(markdown('python tools/no_such.py')).message
    # mim: the config must exist, the rest is mim's business
    assert check_markdown(markdown(f'mim train rotation_pred {FMNIST} --whatever')) == []
    assert only_failure(markdown('mim train rotation_pred configs/missing.py')).message == (
        'configs/missing.py: config file not found')


def test_parsing_runs_nothing_of_the_tool(tmp_path):
    out = tmp_path / 'out' / 'backbone.pth'
    before = (list(sys.argv), os.getcwd(), dict(os.environ))
    # the tool would stop with "checkpoint not found", and write OUT's folder
    assert parse_command_line('tool', 'tools/model_converters/extract_backbone_weights.py',
                              ['no_such.pth', str(out)], env={'X_PLANTED': '1'}) is None
    assert parse_command_line('tool', 'tools/train.py', ['CONFIG', '--help']) is None
    assert not (tmp_path / 'out').exists()
    assert (list(sys.argv), os.getcwd(), dict(os.environ)) == before
    # a tool without any argument parser is not run; given arguments, it is reported
    assert parse_command_line('tool', 'tools/zoo/make_figures.py', []) is None
    assert 'has no argument parser' in parse_command_line('tool', 'tools/zoo/make_figures.py',
                                                          ['--out', 'x'])


def test_a_config_that_does_not_load_or_build_is_reported(tmp_path):
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(type=\n')
    unknown = tmp_path / 'unknown_model.py'
    unknown.write_text("model = dict(type='NoSuchModelAnywhere')\n")
    assert check_config(str(broken)).startswith('config does not load: ')
    assert check_config(str(unknown)).startswith('model of the config does not build: ')
    assert check_config(os.path.join(REPO_ROOT, FMNIST)) is None


def test_each_variant_starts_from_the_same_folder():
    text = markdown('cd tools && python train.py CONFIG [--launcher none|pytorch]\n'
                    'python test.py CONFIG CKPT')
    assert [(c.words[1], c.words[-1], c.cwd) for c in commands_in_markdown(text)] == [
        ('train.py', 'none', 'tools'), ('train.py', 'pytorch', 'tools'),
        ('test.py', 'CKPT', 'tools')]
    assert check_markdown(text) == []
