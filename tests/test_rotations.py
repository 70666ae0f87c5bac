"""The rotated copies are exact, labelled and laid out as documented."""
import numpy as np
import pytest
import scipy.ndimage
import torch

from rotation_pred.rotations import (FOUR_ROTATIONS, PAPER_ROTATION_SETS, _rotate_45,
                                     output_size, rotate, rotate_batch)

EIGHT_ROTATIONS = PAPER_ROTATION_SETS[3]


def images(n=3, c=3, size=8):
    return torch.arange(n * c * size * size, dtype=torch.float32).view(n, c, size, size)


@pytest.mark.parametrize('rotations', [FOUR_ROTATIONS, (0, 180), (90, 270)])
def test_four_copies_of_an_image_are_exact_rotations(rotations):
    x = images()
    samples, labels = rotate_batch(x, rotations)
    k = len(rotations)
    assert samples.shape == (3 * k, 3, 8, 8)
    assert labels.tolist() == list(range(k)) * 3
    for i in range(3):
        for j, angle in enumerate(rotations):
            expected = np.rot90(x[i].numpy(), angle // 90, axes=(1, 2))
            assert np.array_equal(samples[i * k + j].numpy(), expected)


def test_label_one_is_a_quarter_turn_counter_clockwise():
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 0, 2] = 1  # top-right corner
    samples, labels = rotate_batch(x)
    assert labels[1] == 1
    assert samples[1, 0, 0, 0] == 1  # a counter-clockwise turn brings it top-left


def test_uint8_and_bool_images_rotate_without_changing_values():
    x = torch.randint(0, 256, (2, 3, 6, 6), dtype=torch.uint8)
    samples, _ = rotate_batch(x)
    assert samples.dtype == torch.uint8
    assert torch.equal(samples[3], torch.rot90(x[0], 3, dims=(1, 2)))


def test_eight_rotations_have_no_empty_pixels():
    x = torch.ones(2, 3, 28, 28)
    eight = PAPER_ROTATION_SETS[3]
    samples, labels = rotate_batch(x, eight)
    side = output_size(28, eight)
    assert side == 18 and samples.shape == (16, 3, side, side)
    assert labels.tolist() == list(range(8)) * 2
    assert torch.allclose(samples, torch.ones_like(samples), atol=1e-5)


def test_eight_rotations_keep_multiples_of_90_exact():
    x = images(size=28)
    samples, _ = rotate_batch(x, PAPER_ROTATION_SETS[3])
    crop = slice(5, 23)
    for k in range(4):
        expected = torch.rot90(x[1], k, dims=(1, 2))[:, crop, crop]
        assert torch.equal(samples[8 + 2 * k], expected)


def test_the_45_degree_sampler_turns_the_same_way_as_rot90():
    x = torch.randn(2, 3, 9, 9)
    assert torch.allclose(_rotate_45(x, 90, 9), torch.rot90(x, 1, dims=(2, 3)), atol=1e-5)
    dot = torch.zeros(1, 1, 21, 21)
    dot[0, 0, 10, 14] = 1  # 4 pixels right of the centre
    turned = _rotate_45(dot, 45, 21)[0, 0]
    row, col = divmod(int(turned.argmax()), 21)
    assert (row, col) == (7, 13)  # counter-clockwise: up and right, 4/sqrt(2) each way


def test_random_feeding_gives_one_exact_rotation_per_image():
    x = images(n=64)
    generator = torch.Generator().manual_seed(0)
    samples, labels = rotate_batch(x, FOUR_ROTATIONS, 'random', generator)
    assert samples.shape == x.shape and labels.shape == (64, )
    assert set(labels.tolist()) == {0, 1, 2, 3}
    for i in range(64):
        assert torch.equal(samples[i], torch.rot90(x[i], int(labels[i]), dims=(1, 2)))


def test_half_turns_work_on_non_square_images():
    x = torch.randn(2, 3, 4, 6)
    samples, _ = rotate_batch(x, (0, 180))
    assert torch.equal(samples[1], torch.flip(x[0], dims=(1, 2)))


@pytest.mark.parametrize('rotations', [(0, 30), (0, ), (0, 90, 90), (0, 360), 'abc',
                                       (0, 90.5)])
def test_unknown_rotation_set_is_refused_by_name(rotations):
    with pytest.raises(ValueError, match='unknown rotation set rotations='):
        rotate_batch(images(), rotations)


def test_unknown_feeding_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown feeding='shuffle'"):
        rotate_batch(images(), FOUR_ROTATIONS, 'shuffle')


def test_quarter_turns_of_a_non_square_batch_are_refused():
    with pytest.raises(ValueError, match=r'need square images, got 4x6: end the data '
                       r'pipeline with a square crop .* or CenterCrop\(crop_size=224\)\)'):
        rotate_batch(torch.randn(2, 3, 4, 6))


@pytest.mark.parametrize('size', [21, 28])
def test_odd_multiples_of_45_match_an_independent_bilinear_rotation(size):
    # scipy.ndimage.rotate (order 1: bilinear) turns counter-clockwise as shown on
    # screen, about the centre (size - 1) / 2, like the project's sampler.
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(size))
    eight = PAPER_ROTATION_SETS[3]
    side = output_size(size, eight)
    start = (size - side) // 2
    samples, _ = rotate_batch(x, eight)
    for k, angle in enumerate(eight):
        expected = scipy.ndimage.rotate(x.numpy(), angle, axes=(3, 2), reshape=False,
                                        order=1)[..., start:start + side, start:start + side]
        got = samples[k::8].numpy()
        assert np.abs(got - expected).max() < 1e-5, angle


def test_eight_rotations_of_uint8_images_stay_uint8():
    x = torch.randint(0, 256, (2, 1, 12, 12), dtype=torch.uint8)
    samples, _ = rotate_batch(x, PAPER_ROTATION_SETS[3])
    assert samples.dtype == torch.uint8


def test_random_feeding_draws_from_the_given_generator_only():
    x = images(n=32)
    torch.manual_seed(1)
    first = rotate_batch(x, FOUR_ROTATIONS, 'random', torch.Generator().manual_seed(7))[1]
    torch.manual_seed(2)  # another global state: the same labels
    second = rotate_batch(x, FOUR_ROTATIONS, 'random', torch.Generator().manual_seed(7))[1]
    other = rotate_batch(x, FOUR_ROTATIONS, 'random', torch.Generator().manual_seed(8))[1]
    assert torch.equal(first, second) and not torch.equal(first, other)


def test_a_crop_of_a_turned_non_square_image_is_centred_on_both_axes():
    x = torch.arange(6 * 8, dtype=torch.float32).view(1, 1, 6, 8)
    for angle in (0, 90, 180, 270):
        full = np.rot90(x[0, 0].numpy(), angle // 90)
        top, left = (full.shape[0] - 4) // 2, (full.shape[1] - 4) // 2
        assert np.array_equal(rotate(x, angle, 4)[0, 0].numpy(),
                              full[top:top + 4, left:left + 4])


def test_a_45_degree_turn_without_a_side_keeps_the_whole_image():
    x = torch.rand(2, 3, 9, 9)
    turned = rotate(x, 45)
    assert turned.shape == x.shape
    assert torch.equal(turned, _rotate_45(x, 45, 9))


def test_random_feeding_of_the_eight_rotations_turns_and_crops_each_image_by_its_label():
    x = torch.rand(16, 2, 12, 12)
    side = output_size(12, EIGHT_ROTATIONS)
    samples, labels = rotate_batch(x, EIGHT_ROTATIONS, 'random',
                                   generator=torch.Generator().manual_seed(0))
    assert samples.shape == (16, 2, side, side) and side == 8
    assert len(set(labels.tolist())) > 3  # several angles drawn, 45-degree ones among them
    for i, k in enumerate(labels.tolist()):
        expected = rotate(x[i:i + 1], EIGHT_ROTATIONS[k], side)[0]
        assert torch.equal(samples[i], expected)


def test_random_feeding_of_half_turns_keeps_non_square_images_whole():
    x = torch.randn(8, 3, 4, 6)
    samples, labels = rotate_batch(x, (0, 180), 'random',
                                   generator=torch.Generator().manual_seed(1))
    assert samples.shape == x.shape
    assert set(labels.tolist()) == {0, 1}
    for i, k in enumerate(labels.tolist()):
        assert torch.equal(samples[i], torch.flip(x[i], dims=(1, 2)) if k else x[i])


@pytest.mark.parametrize('rotations,smallest', [(FOUR_ROTATIONS, 2), (EIGHT_ROTATIONS, 4)])
def test_the_smallest_images_give_2x2_copies_and_smaller_ones_are_refused(rotations,
                                                                          smallest):
    samples, _ = rotate_batch(torch.rand(1, 1, smallest, smallest), rotations)
    assert samples.shape == (len(rotations), 1, 2, 2)
    small = smallest - 1
    with pytest.raises(ValueError) as error:
        rotate_batch(torch.rand(1, 1, small, small), rotations)
    assert str(error.value) == (f'images of {small}x{small} are too small for '
                                f'rotations={tuple(rotations)}')


@pytest.mark.parametrize('shape', [(3, 8, 8), (1, 1, 3, 8, 8)])
def test_a_batch_that_is_not_n_c_h_w_is_refused_with_its_shape(shape):
    with pytest.raises(ValueError) as error:
        rotate_batch(torch.rand(shape))
    assert str(error.value) == ('rotations need a batch of images of shape (N, C, H, W), '
                                f'got shape {shape}')


def test_the_refusals_of_feeding_and_non_square_images_say_what_to_do():
    with pytest.raises(ValueError) as error:
        rotate_batch(images(), FOUR_ROTATIONS, 'shuffle')
    assert str(error.value) == ("unknown feeding='shuffle': expected one of ('all', "
                                "'random') (all rotations of each image in the batch, or "
                                'one random rotation per image)')
    with pytest.raises(ValueError) as error:
        rotate_batch(torch.randn(2, 3, 4, 6), (0, 90))
    assert str(error.value) == (
        'rotations=(0, 90) need square images, got 4x6: end the data pipeline with a '
        'square crop (e.g. RandomResizedCrop(scale=224) or CenterCrop(crop_size=224))')
