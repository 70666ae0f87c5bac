"""SVM, AP, low-shot sampling, k-NN and subsets give the known answers on constructed
data; the VOC2007 reader reads the class lists and the XML annotations alike."""
import os

import numpy as np
import pytest
import torch

from _benchmark_data import voc_targets, write_voc2007
from rotation_pred.benchmarks import svm as svm_module
from rotation_pred.benchmarks.low_shot import low_shot_svm_map, sample_low_shot
from rotation_pred.benchmarks.svm import (COSTS, average_precision, one_vs_rest_targets,
                                        svm_map)
from rotation_pred.datasets.class_balanced import class_balanced_subset
from rotation_pred.evaluation.knn import knn_accuracy, knn_votes
from rotation_pred.evaluation.voc import VOC_CLASSES, read_voc07, targets_from_annotations


def clusters(num, num_classes, dims=16, noise=0.05, seed=0):
    """Features near one of ``num_classes`` orthogonal directions, and their classes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, num)
    features = np.eye(dims)[labels] + rng.normal(0, noise, (num, dims))
    return features.astype(np.float32), labels


def random_features(num, num_classes, dims=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(num, dims)).astype(np.float32), rng.integers(0, num_classes, num)


def test_average_precision_known_values():
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert average_precision(scores, np.array([1, -1, 1, -1])) == pytest.approx(5 / 6)
    assert average_precision(scores, np.array([1, -1, 1, -1]), eleven_point=True) == \
        pytest.approx((6 + 5 * 2 / 3) / 11)
    # The "difficult" image (0) between the positives is ignored: a perfect ranking.
    assert average_precision(scores, np.array([1, 0, 1, -1])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match='no positive'):
        average_precision(scores, np.array([-1, -1, 0, -1]))


def test_svm_separable_classes_give_map_100():
    x, y = clusters(500, 5)
    t = one_vs_rest_targets(y, 5)
    result = svm_map(x[:300], t[:300], x[300:], t[300:], n_jobs=2)
    assert result['mAP'] == pytest.approx(100.0)
    assert len(result['cost']) == 5 and all(c in COSTS for c in result['cost'])
    assert np.asarray(result['cv_ap']).shape == (5, 19)
    low = low_shot_svm_map(x[:300], t[:300], x[300:], t[300:], ks=(1, 2), num_samples=2,
                           n_jobs=2)
    assert all(low[k]['mean'] > 99.9 for k in (1, 2))


def test_svm_on_random_features_is_at_chance():
    x, y = random_features(2600, 4)
    t = one_vs_rest_targets(y, 4)
    result = svm_map(x[:600], t[:600], x[600:], t[600:], n_jobs=2)
    assert 20 < result['mAP'] < 31  # chance: the share of positives, 25%


def test_the_cost_list_is_the_references_19_costs():
    assert COSTS == (1.0, 10.0, 100.0, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625,
                     0.001953125, 0.0009765625, 0.00048828125, 0.000244140625,
                     0.0001220703125, 6.103515625e-05, 3.0517578125e-05, 1.52587890625e-05,
                     7.62939453125e-06, 3.814697265625e-06, 1.9073486328125e-06)


def test_difficult_images_are_negatives_in_training_and_left_out_at_test(monkeypatch):
    x, y = clusters(120, 2)
    t = one_vs_rest_targets(y, 2)
    difficult = [0, 5, 9]
    t[difficult, 0] = 0
    seen = []  # the targets every SVM of class 0 is fitted on

    def recording_fit(features, targets, cost):
        seen.append(targets.copy())
        return real_fit(features, targets, cost)
    real_fit = svm_module.fit_svm
    monkeypatch.setattr(svm_module, 'fit_svm', recording_fit)
    test_t = t[60:].copy()
    test_t[:10, 0] = 0  # difficult at test: ignored by the AP
    result = svm_map(x[:60], t[:60], x[60:], test_t, costs=(1.0, ), n_jobs=1)
    # 2 classes x (3 folds + the final fit); none of them sees a 0 target.
    assert len(seen) == 8 and all(set(np.unique(s)) <= {-1, 1} for s in seen)
    final_class0 = [s for s in seen if len(s) == 60][0]  # the fit on the whole train set
    assert final_class0[difficult].tolist() == [-1, -1, -1]
    # At test, difficult images are left out: the AP equals the AP over the rest.
    assert result['ap'][0] == pytest.approx(100.0)


def test_low_shot_svms_use_the_cost_given_for_each_class(monkeypatch):
    """One cost per class (the tools pass the full protocol's cross-validated ones):
    each k records exactly those costs, every SVM of a class is fitted at its class's
    cost, and a list of the wrong length is refused."""
    from rotation_pred.benchmarks import low_shot as low_shot_module
    x, y = clusters(120, 3)
    t = one_vs_rest_targets(y, 3)
    costs = [0.5, 2.0, 8.0]
    fitted = []  # (class, cost) of every low-shot SVM fitted: its positives' class

    def recording_fit(features, targets, cost):
        fitted.append((int(y[:60][targets == 1][0]), cost))
        return real_fit(features, targets, cost)
    real_fit = low_shot_module.fit_svm
    monkeypatch.setattr(low_shot_module, 'fit_svm', recording_fit)
    low = low_shot_svm_map(x[:60], t[:60], x[60:], t[60:], ks=(1, 2), num_samples=2,
                           cost=costs, n_jobs=1)
    assert all(low[k]['cost'] == costs for k in (1, 2))
    # 2 ks x 2 samples SVMs per class, each at its class's cost.
    assert sorted(fitted) == sorted(list(enumerate(costs)) * 4)
    with pytest.raises(ValueError, match='cost'):
        low_shot_svm_map(x[:60], t[:60], x[60:], t[60:], ks=(1, ), num_samples=1,
                         cost=[1.0, 2.0], n_jobs=1)


def test_low_shot_sample_has_k_positives_and_c_minus_1_k_negatives():
    targets = voc_targets(80, 0)  # 20 classes, 4 positives each, some difficult
    sampled = sample_low_shot(targets, 2, np.random.default_rng(0))
    assert ((sampled == 1).sum(0) == 2).all()
    assert ((sampled == -1).sum(0) == 19 * 2).all()
    assert (targets[sampled == 1] == 1).all() and (targets[sampled == -1] == -1).all()
    with pytest.raises(ValueError, match='k=5: class 0 has 4 positive'):
        sample_low_shot(targets, 5, np.random.default_rng(0))


def test_knn_separable_classes_give_accuracy_100_and_random_ones_chance():
    x, y = clusters(700, 4)
    acc = knn_accuracy(torch.from_numpy(x[:500]), torch.from_numpy(y[:500]),
                       torch.from_numpy(x[500:]), torch.from_numpy(y[500:]), ks=(10, 20, 100))
    assert all(acc[k][1] == 100.0 for k in (10, 20, 100))
    x, y = random_features(3000, 4)
    acc = knn_accuracy(torch.from_numpy(x[:1000]), torch.from_numpy(y[:1000]),
                       torch.from_numpy(x[1000:]), torch.from_numpy(y[1000:]), ks=(20, 200))
    assert all(20 < acc[k][1] < 30 for k in (20, 200))  # chance: 25%


def test_knn_votes_are_weighted_by_similarity():
    # One neighbour of class 0 almost identical to the query, two of class 1 further away.
    train = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.6, -0.8]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[1.0, 0.05]])
    sharp = knn_votes(train, labels, query, ks=(3, ), temperature=0.07)[3]
    flat = knn_votes(train, labels, query, ks=(3, ), temperature=100.0)[3]
    assert sharp.argmax() == 0  # exp(cos / 0.07) favours the near neighbour
    assert flat.argmax() == 1  # nearly equal weights: the majority wins
    with pytest.raises(ValueError, match='larger than the 3 training'):
        knn_votes(train, labels, query, ks=(4, ))


def test_class_balanced_subset_is_balanced_and_seeded():
    labels = np.repeat(np.arange(10), [100 + 10 * c for c in range(10)])
    subset = class_balanced_subset(labels, 0.1, seed=0)
    counts = np.bincount(labels[subset], minlength=10)
    assert (counts == round(0.1 * len(labels) / 10)).all()
    assert np.array_equal(subset, class_balanced_subset(labels, 0.1, seed=0))
    assert not np.array_equal(subset, class_balanced_subset(labels, 0.1, seed=1))


def test_voc2007_reader_class_lists_and_annotations_agree(tmp_path):
    root, expected = write_voc2007(str(tmp_path / 'VOC2007'), trainval=24, test=12)
    for split in ('trainval', 'test'):
        image_ids, targets = read_voc07(root, split)
        assert np.array_equal(targets, expected[split])
        assert np.array_equal(targets_from_annotations(root, image_ids), expected[split])
    assert (expected['trainval'] == 0).any()  # difficult objects are in the data
    # Without the per-class lists the XML annotations give the same targets.
    for name in VOC_CLASSES:
        os.remove(os.path.join(root, 'ImageSets', 'Main', f'{name}_test.txt'))
    assert np.array_equal(read_voc07(root, 'test')[1], expected['test'])
    bad = os.path.join(root, 'ImageSets', 'Main', 'dog_trainval.txt')
    with open(bad, 'a') as f:
        f.write('999999  1\n')
    with pytest.raises(ValueError, match=r'dog_trainval\.txt: bad line'):
        read_voc07(root, 'trainval')
