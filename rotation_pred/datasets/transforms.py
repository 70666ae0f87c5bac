"""Per-image checks that turn bad input into one clear error."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CheckImage(BaseTransform):
    """Refuse an image that the rest of the pipeline cannot use, naming its file.

    Place it right after ``LoadImageFromFile``. That loader already decodes
    grayscale images to 3 channels and drops the alpha channel of RGBA images
    (``color_type='color'``), and fails with the file name on undecodable bytes.

    Args:
        min_size: smallest accepted shorter side in pixels (for example the crop size
            of a pipeline that crops without resizing first).
        channels: expected number of channels of the decoded image.
    """

    def __init__(self, min_size: int = 1, channels: int = 3):
        self.min_size = min_size
        self.channels = channels

    def transform(self, results: dict) -> dict:
        source = results.get('img_path', '<in-memory image>')
        img = results.get('img')
        if not isinstance(img, np.ndarray):
            raise ValueError(f'{source}: no decoded image (got {type(img).__name__})')
        channels = 1 if img.ndim == 2 else img.shape[2]
        if channels != self.channels:
            raise ValueError(f'{source}: image has {channels} channels, the pipeline '
                             f'expects {self.channels} (CheckImage.channels)')
        height, width = img.shape[:2]
        if min(height, width) < self.min_size:
            raise ValueError(f'{source}: image is {height}x{width}, smaller than '
                             f'CheckImage.min_size={self.min_size}')
        return results

    def __repr__(self):
        return f'{type(self).__name__}(min_size={self.min_size}, channels={self.channels})'
