"""The one reader of pretrained backbone weights (rotation_pred/benchmarks/checkpoint.py).

A benchmark evaluates a backbone, whatever trained it: the backbone of a RotationPred,
SimCLR, MoCo or BYOL checkpoint, or of a supervised classifier, loads into the same
network, and so does a backbone-only checkpoint; the head plays no part. A backbone
that does not fit the network is refused, naming the file and the keys at fault, and a
file that is no checkpoint is refused naming the file. Tiny NIN backbones throughout."""
import logging
import os

import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import rotation_pred  # noqa: F401  (registers NetworkInNetwork and RotationPred)
from _benchmark_data import rotation_pred_checkpoint
from conftest import run_tool
from rotation_pred.benchmarks.checkpoint import (load_backbone, read_backbone_weights,
                                                 read_state_dict)
from rotation_pred.benchmarks.checkpoint import extract_backbone

NIN = dict(type='NetworkInNetwork', num_blocks=3, width=24, in_channels=1)


def nin(seed=None, **changes):
    """A NIN backbone of the config ``NIN`` (with ``changes``); weights drawn with
    ``seed``, and BatchNorm statistics that no fresh network has."""
    init_default_scope('mmpretrain')
    if seed is not None:
        torch.manual_seed(seed)
    backbone = MODELS.build(dict(NIN, **changes))
    backbone.init_weights()
    if seed is not None:
        with torch.no_grad():
            for name, tensor in backbone.state_dict().items():
                if name.endswith('running_var'):
                    tensor.uniform_(0.5, 2.0)
                elif tensor.dim() == 1:  # BatchNorm weight, bias, running mean
                    tensor.uniform_(-0.5, 0.5)
    return backbone.eval()


def other_algorithm(path, source, algorithm):
    """``source``'s weights as the backbone of a whole ``algorithm`` model, saved the way
    MMEngine saves one: its own neck, head and (MoCo) momentum encoder next to it."""
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    if algorithm in ('simclr', 'moco', 'byol'):
        state.update({'neck.mlp.0.weight': torch.randn(32, 24),
                      'neck.mlp.1.running_mean': torch.zeros(32),
                      'neck.mlp.3.weight': torch.randn(16, 32)})
    if algorithm == 'moco':  # an EMA copy of backbone and neck, with other values
        state.update({f'momentum_encoder.module.0.{k}': v + 1
                      for k, v in source.state_dict().items()})
        state['momentum_encoder.steps'] = torch.tensor(100)
    if algorithm == 'byol':
        state.update({'head.predictor.mlp.0.weight': torch.randn(32, 16)})
    if algorithm == 'supervised':  # a classifier also has head.fc.weight
        state.update({'head.fc.weight': torch.randn(10, 24), 'head.fc.bias': torch.zeros(10)})
    torch.save(dict(state_dict=state, meta=dict(epoch=200)), path)
    return str(path)


def same_tensors(a, b):
    a, b = a.state_dict(), b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize('algorithm', ['simclr', 'moco', 'byol', 'supervised'])
def test_the_backbone_of_any_algorithm_loads_whatever_its_head(tmp_path, algorithm):
    source = nin(seed=1)
    path = other_algorithm(tmp_path / f'{algorithm}.pth', source, algorithm)
    target = nin()
    count = len(target.state_dict())
    report = load_backbone(target, path)
    assert report == f'loaded {count} of {count} backbone tensors from {path}'
    assert same_tensors(target, source)  # the backbone, not MoCo's momentum copy


def test_a_rotation_pred_and_a_backbone_only_checkpoint_load_the_same_tensors(tmp_path):
    whole = rotation_pred_checkpoint(tmp_path / 'rotnet.pth', NIN, 24, seed=3)
    backbone_only = str(tmp_path / 'backbone.pth')
    run_tool('tools/model_converters/extract_backbone_weights.py', whole, backbone_only)
    from_whole, from_backbone = nin(), nin()
    load_backbone(from_whole, whole)
    load_backbone(from_backbone, backbone_only)
    assert same_tensors(from_whole, from_backbone)
    saved = torch.load(whole, weights_only=True)['state_dict']
    for name, tensor in from_whole.state_dict().items():  # and they are the checkpoint's
        assert torch.equal(tensor, saved[f'backbone.{name}']), name
    assert not same_tensors(from_whole, nin())


def test_a_bare_state_dict_without_the_state_dict_entry_is_read_too(tmp_path):
    source = nin(seed=4)
    whole, bare = str(tmp_path / 'whole.pth'), str(tmp_path / 'bare.pth')
    torch.save({f'backbone.{k}': v for k, v in source.state_dict().items()}, whole)
    torch.save(source.state_dict(), bare)
    for path in (whole, bare):
        weights = read_backbone_weights(path)
        assert list(weights) == list(source.state_dict())
        assert all(torch.equal(weights[k], v) for k, v in source.state_dict().items())


def test_the_loaded_backbone_computes_what_the_pretrained_one_did(tmp_path):
    source = nin(seed=5, out_indices=(0, 1, 2))
    path = other_algorithm(tmp_path / 'simclr.pth', source, 'simclr')
    target = nin(out_indices=(0, 1, 2))
    images = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        before = target(images)
        load_backbone(target, path)
        expected, loaded = source(images), target(images)
    assert len(loaded) == 3
    assert all(torch.equal(a, b) for a, b in zip(loaded, expected))
    assert not torch.allclose(before[-1], expected[-1])


def test_a_backbone_with_fewer_blocks_is_refused_naming_the_missing_keys(tmp_path):
    """3 blocks into 4: the fourth block's 18 tensors are missing; the message lists the
    first 10 and counts the others, and the network keeps its weights."""
    path = other_algorithm(tmp_path / 'nin3b.pth', nin(seed=6), 'simclr')
    four_blocks = nin(num_blocks=4)
    kept = {k: v.clone() for k, v in four_blocks.state_dict().items()}
    missing = [k for k in four_blocks.state_dict() if k.startswith('blocks.3.')]
    assert len(missing) > 10
    with pytest.raises(ValueError) as refused:
        load_backbone(four_blocks, path)
    message = str(refused.value)
    assert message.startswith(f'{path} does not fit the backbone NetworkInNetwork')
    assert f'{len(missing)} missing keys: {", ".join(missing[:10])} and ' \
           f'{len(missing) - 10} more' in message
    assert 'unexpected' not in message and 'shape' not in message
    assert all(torch.equal(v, kept[k]) for k, v in four_blocks.state_dict().items())


def test_a_backbone_with_more_blocks_is_refused_naming_the_extra_keys(tmp_path):
    path = other_algorithm(tmp_path / 'nin4b.pth', nin(seed=7, num_blocks=4), 'simclr')
    with pytest.raises(ValueError, match=r'nin4b\.pth does not fit .* unexpected keys: '
                                         r'blocks\.3\.0\.0\.weight'):
        load_backbone(nin(), path)


def test_a_wider_backbone_is_refused_naming_the_shape_mismatches(tmp_path):
    path = other_algorithm(tmp_path / 'nin-w48.pth', nin(seed=8, width=48), 'moco')
    with pytest.raises(ValueError) as refused:
        load_backbone(nin(), path)
    message = str(refused.value)
    assert message.startswith(f'{path} does not fit the backbone NetworkInNetwork')
    assert 'blocks.0.0.0.weight (48, 1, 5, 5) in the file, (24, 1, 5, 5) in the model' \
        in message
    assert 'missing' not in message


def test_files_that_are_no_checkpoint_are_refused_naming_them(tmp_path):
    notes = tmp_path / 'notes.pth'
    notes.write_text('not a checkpoint')
    corrupt = tmp_path / 'corrupt.pth'
    torch.save(nin(seed=9).state_dict(), corrupt)
    corrupt.write_bytes(corrupt.read_bytes()[:len(corrupt.read_bytes()) // 2])  # cut short
    for path in (notes, corrupt):
        with pytest.raises(ValueError, match=f'^{path}: cannot be loaded as a checkpoint'):
            read_backbone_weights(str(path))
    empty = tmp_path / 'epoch.pth'
    torch.save({'epoch': 3, 'model': {'lr': 0.1}}, empty)
    with pytest.raises(ValueError, match=f'^{empty}: not a checkpoint: no tensors in it '
                                         r'\(its keys: epoch, model\)'):
        read_state_dict(str(empty))
    with pytest.raises(FileNotFoundError, match=f'checkpoint file not found: '
                                                f'{tmp_path / "nowhere.pth"}'):
        read_backbone_weights(str(tmp_path / 'nowhere.pth'))


class Payload:
    """An object a checkpoint could pickle: loading it would run arbitrary code."""


def test_a_checkpoint_pickling_other_objects_is_refused_weights_only(tmp_path):
    path = tmp_path / 'pickled.pth'
    torch.save({'state_dict': nin(seed=10).state_dict(), 'hook': Payload()}, path)
    with pytest.raises(ValueError, match=rf'^{path}: cannot be loaded as a checkpoint with '
                                         r'torch\.load\(weights_only=True\)'):
        read_backbone_weights(str(path))


def test_a_whole_model_without_backbone_keys_is_refused(tmp_path):
    path = tmp_path / 'headless.pth'
    torch.save({'state_dict': {'neck.mlp.0.weight': torch.zeros(2, 2),
                               'head.fc.weight': torch.zeros(4, 2)}}, path)
    with pytest.raises(ValueError, match=rf"^{path}: no backbone weights: no key starts with "
                                         r"'backbone\.'.*\['head\.', 'neck\.'\]"):
        read_backbone_weights(str(path))
    with pytest.raises(ValueError, match='no backbone weights'):
        extract_backbone(str(path), str(tmp_path / 'out.pth'))


def test_another_prefix_takes_the_momentum_encoder(tmp_path):
    source = nin(seed=11)
    path = other_algorithm(tmp_path / 'moco.pth', source, 'moco')
    target = nin()
    load_backbone(target, path, prefix='momentum_encoder.module.0.')
    assert all(torch.equal(v, source.state_dict()[k] + 1)
               for k, v in target.state_dict().items())


def test_the_report_goes_to_the_logger(tmp_path):
    path = other_algorithm(tmp_path / 'byol.pth', nin(seed=12), 'byol')
    records = []
    logger = logging.getLogger('test_checkpoint_reader')
    logger.setLevel(logging.INFO)
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        report = load_backbone(nin(), path, logger=logger)
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in records] == [report]
    assert report.endswith(f'backbone tensors from {path}')
    assert os.path.isfile(path)


def test_the_linear_benchmark_keeps_the_loaded_backbone_through_initialisation(tmp_path):
    """The linear benchmark (tools/benchmarks/classification/train_linear.py, whose
    logic is rotation_pred.benchmarks.train_linear) loads the backbone of a whole
    checkpoint (MMEngine's Pretrained init would have matched none of its backbone.*
    keys) before runner.train(), whose init_weights() must then leave it alone."""
    import types

    from mmengine.model import BaseModule

    from rotation_pred.benchmarks import train_linear

    class Classifier(BaseModule):
        def __init__(self):
            super().__init__()
            self.backbone = MODELS.build(NIN)  # not initialised yet, as Runner builds it
            self.head = torch.nn.Linear(24, 10)

    source = nin(seed=13)
    path = other_algorithm(tmp_path / 'simclr.pth', source, 'simclr')
    model = Classifier()
    runner = types.SimpleNamespace(model=model, logger=logging.getLogger('train_linear'))
    report = train_linear.load_pretrained_backbone(runner, path)
    model.init_weights()  # what runner.train() does first
    assert report.startswith('loaded 54 of 54 backbone tensors')
    assert same_tensors(model.backbone, source)
