"""tools/benchmarks/evaluate.py: one vocabulary of protocol names for the command line,
the rows and the tables; bad input refused with the names at fault; a checkpoint is a
checkpoint to it whether it holds a whole model or a backbone only."""
import pytest
import torch
from mmengine.config import Config

from conftest import FMNIST_CONFIG, run_tool
from rotation_pred.benchmarks import evaluate, evaluate_cli, protocols, rows
from rotation_pred.benchmarks.checkpoint import extract_backbone
from rotation_pred.benchmarks.loading import build_model


def test_every_protocol_name_is_one_the_rows_accept():
    names = set(protocols.PROTOCOLS) | set(evaluate.MODEL_MEASURES)
    assert names <= set(rows.PROTOCOLS)
    assert set(evaluate_cli.NAMES) == names
    assert set(protocols.PROTOCOLS) == {'linear_probe', 'knn', 'svm', 'low_shot',
                                        'nonlinear', 'conv'}


def test_an_unknown_protocol_is_refused_with_the_list_of_names(capsys):
    with pytest.raises(SystemExit):
        evaluate_cli.build_parser().parse_args(['c.py', 'w.pth', '--protocols', 'probe'])
    err = capsys.readouterr().err
    assert "unknown protocol 'probe'; the protocols are: linear_probe, knn, svm, " \
        'low_shot, nonlinear, conv, rotation_accuracy' in err
    with pytest.raises(ValueError, match="unknown protocol 'lowshot'; the protocols are: "
                                         'linear_probe, knn'):
        protocols.get_protocols(['knn', 'lowshot'])


@pytest.mark.parametrize('flag,value,message', [
    ('--knn-k', '10,x', "'10,x' is not a comma-separated list of int values"),
    ('--low-shot-cost', '-1', "--low-shot-cost must be 'cv' or a positive number, not '-1'"),
])
def test_bad_settings_are_refused_naming_the_option(capsys, flag, value, message):
    with pytest.raises(SystemExit):
        evaluate_cli.build_parser().parse_args(['c.py', 'w.pth', '--protocols', 'knn',
                                                flag, value])
    assert message in capsys.readouterr().err


def test_missing_files_and_unknown_levels_are_named(fashion_mnist_root, tmp_path):
    refused = run_tool('tools/benchmarks/evaluate.py', FMNIST_CONFIG, str(tmp_path / 'no.pth'),
                       '--protocols', 'knn', check=False)
    assert refused.returncode != 0
    assert f'checkpoint file not found: {tmp_path / "no.pth"}' in refused.stderr
    with pytest.raises(ValueError, match=r"unknown levels \['block9'\]; the levels are "
                                         r"\['block1', 'block2', 'block3'\]"):
        evaluate.evaluate_features(None, {}, ['knn'], None, str(tmp_path),
                                   ['block1', 'block2', 'block3'], levels=['block9'])


def test_a_backbone_only_file_and_its_whole_checkpoint_give_the_same_model(
        fashion_mnist_root, tmp_path):
    """The zoo ships backbone-only files; every evaluation reads them, and the whole
    pretraining checkpoint, into the same backbone (the head only from the latter)."""
    cfg = Config.fromfile(FMNIST_CONFIG)
    whole = tmp_path / 'whole.pth'
    torch.save(dict(state_dict=build_model(cfg, seed=3).state_dict(),
                    meta=dict(seed=0)), whole)
    backbone = tmp_path / 'backbone.pth'
    extract_backbone(str(whole), str(backbone))
    from_whole, has_head = evaluate.load_model(cfg, str(whole), seed=1)
    from_backbone, no_head = evaluate.load_model(cfg, str(backbone), seed=1)
    assert has_head and not no_head
    for key, value in from_whole.backbone.state_dict().items():
        assert torch.equal(from_backbone.backbone.state_dict()[key], value), key
    with pytest.raises(ValueError, match='rotation_accuracy needs a RotationPred model '
                                         'with its head'):
        evaluate.model_measures(from_backbone, ['rotation_accuracy'], None, None, no_head)


def test_the_tools_print_no_pkg_resources_warning():
    """mmengine imports pkg_resources, which warns on every import (compat fix 9 hides
    that one message, nothing else)."""
    for tool in ('tools/benchmarks/evaluate.py', 'tools/train.py'):
        out = run_tool(tool, '--help', env=dict(PYTHONWARNINGS='default'))
        assert 'usage:' in out.stdout
        assert 'pkg_resources' not in out.stderr, out.stderr
    import subprocess
    import sys
    out = subprocess.run([sys.executable, '-W', 'default', '-c',
                          'import rotation_pred, mmengine.utils, warnings; '
                          "warnings.warn('another UserWarning')"],
                         capture_output=True, text=True, timeout=300)
    assert 'another UserWarning' in out.stderr and 'pkg_resources' not in out.stderr
