"""Write the backbone of a pretrained checkpoint as a backbone-only checkpoint, the file
MMPretrain, MMDetection and MMSegmentation configs load with
``init_cfg=dict(type='Pretrained', checkpoint=...)``."""
import torch

from .checkpoint import BACKBONE, backbone_of, load_checkpoint_file, tensors_of


def extract_backbone(src: str, dst: str, prefix: str = BACKBONE) -> int:
    """Write the backbone weights of checkpoint ``src`` (a whole model of any algorithm,
    or already backbone-only; see
    :func:`~rotation_pred.benchmarks.checkpoint.read_backbone_weights`) to ``dst`` as
    ``dict(state_dict={name: tensor}, meta=dict(source, epoch, iter, seed))`` (the
    seed the pretraining recorded, so results of the file can name it); returns the
    number of tensors written. Raises what the reader raises, naming ``src``."""
    checkpoint = load_checkpoint_file(src)
    backbone = backbone_of(tensors_of(checkpoint, src), src, prefix)
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    torch.save(dict(state_dict=backbone,
                    meta=dict(source=str(src), epoch=meta.get('epoch'),
                              iter=meta.get('iter'), seed=meta.get('seed'))), dst)
    return len(backbone)
