"""Pretraining on a folder of the user's own images: ImageFolderUnlabeled (listing,
held-out share, bad files), the image-folder configs through tools/train.py, and the
main job with DATA=<folder>."""
import os
import re

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

from conftest import REPO, fake_venv, python_venv, run_tool, train_tool
from rotation_pred.datasets.image_folder import BadImageError, split_files

NIN_CONFIG = os.path.join(REPO, 'configs',
                          'rotation-pred_nin3b-w48_1xb64-steplr-4e_image-folder.py')
RESNET_CONFIG = os.path.join(REPO, 'configs',
                             'rotation-pred_resnet50_8xb16-steplr-70e_image-folder.py')

# Relative path -> (height, width, channels); channels 1 is a grayscale file, 4 RGBA.
GOOD = {
    'photo.jpg': (40, 64, 3),
    'gray.png': (30, 44, 1),
    'rgba.png': (44, 30, 4),
    'nested/Upper.JPG': (64, 40, 3),
    'nested/deeper/Mixed.Png': (36, 48, 3),
    'nested/deeper/more.jpeg': (50, 50, 3),
    'nested/deeper/still.bmp': (33, 47, 3),
    'nested/zz.TIFF': (40, 41, 3),
}
EMPTY = 'nested/empty.jpg'
CORRUPT = 'zz_corrupt.jpg'  # sorts last: its index wraps round to the first file
OTHERS = ['.DS_Store', 'nested/deeper/labels.csv', 'notes.txt']


def write_image(path, shape, seed):
    """An image file of random pixels, ``shape`` (H, W, C), encoded by its extension
    in lower case (OpenCV picks the encoder from it)."""
    height, width, channels = shape
    size = (height, width) if channels == 1 else (height, width, channels)
    pixels = np.random.default_rng(seed).integers(0, 256, size, np.uint8)
    ok, data = cv2.imencode(os.path.splitext(path)[1].lower(), pixels)
    assert ok, path
    with open(path, 'wb') as f:
        f.write(data.tobytes())


def image_folder(root, bad=(EMPTY, )):
    """A nested folder of the ``GOOD`` images, the ``bad`` files (``EMPTY``: 0 bytes,
    ``CORRUPT``: JPEG header then junk), ``OTHERS`` and a hidden folder; returns root."""
    for seed, (name, shape) in enumerate(sorted(GOOD.items())):
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        write_image(os.path.join(root, name), shape, seed)
    contents = {EMPTY: b'', CORRUPT: b'\xff\xd8\xff\xe0 not a jpeg'}
    for name in bad:
        (root / name).write_bytes(contents[name])
    for name in OTHERS:
        (root / name).write_text('not an image\n')
    (root / '.thumbnails').mkdir()
    write_image(str(root / '.thumbnails' / 'photo.jpg'), (8, 8, 3), 0)
    return root


def build(root, loader='train', **options):
    """The dataset of the NIN image-folder config's ``loader`` on the folder ``root``."""
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(NIN_CONFIG)[f'{loader}_dataloader'].dataset
    cfg.update(data_root=str(root), **options)
    return DATASETS.build(cfg)


def paths(dataset):
    """The relative POSIX paths of the dataset's samples, in index order."""
    return [os.path.relpath(dataset.get_data_info(i)['img_path'],
                            dataset.data_root).replace(os.sep, '/')
            for i in range(len(dataset))]


def test_lists_exactly_the_images_sorted_and_counts_the_other_files(tmp_path):
    dataset = build(image_folder(tmp_path), split='all', pipeline=[])
    assert paths(dataset) == sorted(list(GOOD) + [EMPTY])
    assert dataset.skipped_files == sorted(OTHERS)


def test_train_and_val_splits_share_out_the_folder(tmp_path):
    image_folder(tmp_path)
    train = paths(build(tmp_path, 'train', pipeline=[]))
    val = paths(build(tmp_path, 'val', pipeline=[]))
    assert len(val) >= 1 and not set(train) & set(val)
    assert sorted(train + val) == sorted(list(GOOD) + [EMPTY])
    assert paths(build(tmp_path, 'val', val_fraction=0.99, pipeline=[])) != val


def test_held_out_files_stay_held_out_when_files_are_added():
    files = [f'site{i % 7}/img_{i:05d}.jpg' for i in range(2000)]
    val = split_files(files, 'val', 0.1)
    assert 150 < len(val) < 250  # the share, from a hash of each relative path
    more = split_files(files + [f'new/img_{i}.png' for i in range(1000)], 'val', 0.1)
    assert [f for f in more if not f.startswith('new/')] == val
    assert split_files(files, 'train', 0.1) == [f for f in files if f not in set(val)]
    assert len(split_files(files[:3], 'val', 0.01)) == 1  # at least one held out


def test_folder_without_images_is_named(tmp_path):
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'readme.txt').write_text('no images here\n')
    with pytest.raises(ValueError, match=f"no image file under '{tmp_path}'.*readme.txt"):
        build(tmp_path, split='all', pipeline=[])
    with pytest.raises(FileNotFoundError, match='nowhere'):
        build(tmp_path / 'nowhere', split='all', pipeline=[])
    with pytest.raises(ValueError, match="unknown split='test'"):
        build(tmp_path, split='test')


def test_every_good_image_becomes_a_three_channel_square_sample(tmp_path):
    image_folder(tmp_path, bad=())
    for loader in ('train', 'val'):
        dataset = build(tmp_path, loader, split='all')
        for i in range(len(dataset)):
            assert tuple(dataset[i]['inputs'].shape) == (3, 32, 32), paths(dataset)[i]


@pytest.mark.parametrize('name, reason', [(EMPTY, r'empty file \(0 bytes\)'),
                                          (CORRUPT, 'LoadImageFromFile failed: '
                                           '.*cannot load the image: not a decodable')])
def test_a_bad_file_is_a_value_error_naming_it(tmp_path, name, reason):
    dataset = build(image_folder(tmp_path, bad=(name, )), split='all')
    index = paths(dataset).index(name)
    with pytest.raises(BadImageError, match=f'bad image {re.escape(str(tmp_path / name))}: '
                       f'{reason}'):
        dataset[index]
    assert issubclass(BadImageError, ValueError)


def test_skipping_keeps_the_index_of_every_good_file(tmp_path):
    """The guarantee: the listing keeps the bad files, so the length and the sampler's
    order never change; index i serves file i when it is good, else the first good file
    after it (wrapping round), the same file as if the bad one had been good."""
    skipping = build(image_folder(tmp_path / 'bad', bad=(EMPTY, CORRUPT)), split='all',
                     skip_bad_images=True)
    files = paths(skipping)
    # The same folder with good images in place of the bad ones.
    fixed = image_folder(tmp_path / 'fixed', bad=())
    for seed, name in enumerate((EMPTY, CORRUPT)):
        write_image(str(fixed / name), (32, 32, 3), seed)
    reference = build(fixed, split='all', skip_bad_images=True)
    assert paths(reference) == files
    served = [os.path.relpath(skipping[i]['data_samples'].img_path, skipping.data_root)
              for i in range(len(files))]
    for i, name in enumerate(files):
        if name == EMPTY:
            assert served[i] == files[i + 1]
        elif name == CORRUPT:
            assert i == len(files) - 1 and served[i] == files[0]
        else:
            assert served[i] == name == os.path.relpath(
                reference[i]['data_samples'].img_path, reference.data_root)
    assert sorted(skipping.bad_images) == [str(tmp_path / 'bad' / n) for n in (EMPTY, CORRUPT)]
    skipping[files.index(EMPTY)]  # a second visit: neither a new entry nor an error
    assert len(skipping.bad_images) == 2


def test_a_folder_of_bad_files_only_is_refused_even_when_skipping(tmp_path):
    (tmp_path / 'a.jpg').write_bytes(b'')
    (tmp_path / 'b.png').write_bytes(b'junk')
    dataset = build(tmp_path, split='all', skip_bad_images=True)
    with pytest.raises(ValueError, match='no usable image among the 2 indices'):
        dataset[0]


def test_resnet_config_reads_the_folder_with_the_imagenet_pipeline(tmp_path):
    image_folder(tmp_path, bad=())
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(RESNET_CONFIG)
    imagenet = Config.fromfile(os.path.join(REPO, 'configs',
                                            'rotation-pred_resnet50_8xb16-steplr-70e_in1k.py'))
    assert cfg.train_dataloader.dataset.pipeline == imagenet.train_dataloader.dataset.pipeline
    assert cfg.val_dataloader.dataset.pipeline == imagenet.val_dataloader.dataset.pipeline
    assert cfg.test_dataloader.dataset == cfg.val_dataloader.dataset
    cfg.train_dataloader.dataset.data_root = str(tmp_path)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert tuple(dataset[0]['inputs'].shape) == (3, 224, 224)


def train(tmp_path, folder, *options):
    """tools/train.py on the NIN image-folder config, 2 iterations (one per epoch) on
    ``folder``; returns the finished process and its stdout + stderr."""
    proc = train_tool(NIN_CONFIG, tmp_path / 'work', check=False, options=[
        f'train_dataloader.dataset.data_root={folder}',
        f'val_dataloader.dataset.data_root={folder}', 'train_dataloader.batch_size=16',
        'train_cfg.max_epochs=2', *options])
    return proc, proc.stdout + proc.stderr


def test_training_stops_at_an_empty_file_naming_it(tmp_path):
    folder = image_folder(tmp_path / 'images')
    proc, out = train(tmp_path, folder)
    assert proc.returncode != 0
    assert f'BadImageError: bad image {folder / EMPTY}: empty file (0 bytes)' in out
    assert out.rstrip().splitlines()[-1].startswith('rotation_pred.datasets.image_folder.'
                                                    'BadImageError: bad image')
    assert 'cv2.error' not in out  # the file's problem says it all


def test_training_skips_an_empty_file_and_logs_it_once(tmp_path):
    folder = image_folder(tmp_path / 'images')
    proc, out = train(tmp_path, folder, 'train_dataloader.dataset.skip_bad_images=True')
    assert proc.returncode == 0, out[-4000:]
    assert 'Epoch(train) [2][1/1]' in out and 'rotation/accuracy' in out
    assert out.count(f'skipped bad image {folder / EMPTY}: empty file (0 bytes)') == 1
    listing = re.findall(r'ImageFolderUnlabeled: (\d+) images under .*; skipped (\d+) '
                         r'file\(s\) that are not images', out)
    assert listing == [(str(len(GOOD) + 1), str(len(OTHERS)))]  # once, for both loaders


def test_main_job_on_a_folder_reports_rotation_accuracy_and_no_labels(tmp_path):
    folder = image_folder(tmp_path / 'images', bad=())
    work = tmp_path / 'main'
    venv = python_venv(str(tmp_path / 'venv'))
    proc = run_tool('bash', 'tools/run_main.sh', '--cfg-options', 'train_dataloader.batch_size=16',
                    env=dict(DATA=os.path.relpath(folder, REPO), MAIN_EPOCHS='1',
                             WORK_DIR=str(work), VENV=venv))
    out = proc.stdout
    assert f'pretraining on the images under {folder}' in out
    assert 'Epoch(train) [1][1/1]' in (work / 'train.log').read_text()
    match = re.search(r'rotation accuracy on the held-out images \((\d+) of (\d+) images\): '
                      r'([\d.]+)$', out, re.M)
    assert match, out
    held_out, total, accuracy = int(match[1]), int(match[2]), float(match[3])
    assert total == len(GOOD) and 1 <= held_out < total and 0 <= accuracy <= 100
    assert '[main] no labels:' in out and 'linear probe of' not in out
    assert not (work / 'linear_probe').exists()


def test_main_job_passes_the_folder_to_both_data_sets(tmp_path):
    folder = image_folder(tmp_path / 'images', bad=())
    calls, work = tmp_path / 'calls', tmp_path / 'work'
    # As tools/train.py: record the arguments, write the last_checkpoint of the work dir.
    venv = fake_venv(str(tmp_path / 'venv'), f'''printf '%s\\n' "$*" >> {calls}
work_dir=$(printf '%s\\n' "$@" | grep -x -A1 -e --work-dir | tail -1)
echo "$work_dir/epoch_1.pth" > "$work_dir/last_checkpoint"''')
    proc = run_tool('bash', 'tools/run_main.sh', '--amp',
                    env=dict(DATA=str(folder), WORK_DIR=str(work), VENV=venv))
    config = 'configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_image-folder.py'
    assert calls.read_text().splitlines() == [
        f'tools/train.py {config} --work-dir {work} --cfg-options '
        f'train_dataloader.dataset.data_root={folder} '
        f'val_dataloader.dataset.data_root={folder} --amp']
    assert 'rotation accuracy on the held-out images' in proc.stdout
    assert '[main] no labels:' in proc.stdout
    spaced = tmp_path / 'my images'
    spaced.mkdir()
    proc = run_tool('bash', 'tools/run_main.sh', env=dict(DATA=str(spaced), VENV=venv),
                    check=False)
    assert proc.returncode == 2 and 'link the folder to a plain path' in proc.stderr
