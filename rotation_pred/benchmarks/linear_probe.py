"""Linear classifier on frozen features: normalise (BatchNorm without affine, i.e.
train-set mean and std), then one linear layer trained with SGD + cross-entropy."""
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F


def standardise(train: np.ndarray, test: np.ndarray) -> Tuple[torch.Tensor, torch.Tensor]:
    """Scale both sets with the train set's per-dimension mean and std."""
    train_t, test_t = torch.from_numpy(train).float(), torch.from_numpy(test).float()
    mean, std = train_t.mean(0), train_t.std(0).clamp_min(1e-6)
    return (train_t - mean) / std, (test_t - mean) / std


def train_linear_classifier(features: torch.Tensor, labels: torch.Tensor, num_classes: int,
                            epochs: int = 30, lr: float = 0.05, weight_decay: float = 5e-4,
                            batch_size: int = 256, seed: int = 0) -> torch.nn.Linear:
    """SGD (momentum 0.9, cosine lr) on (N, D) features and (N,) labels."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    classifier = torch.nn.Linear(features.shape[1], num_classes)
    optimizer = torch.optim.SGD(classifier.parameters(), lr=lr, momentum=0.9,
                                weight_decay=weight_decay)
    steps = epochs * ((len(features) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(epochs):
        order = torch.randperm(len(features), generator=generator)
        for start in range(0, len(features), batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(classifier(features[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return classifier


def linear_probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                          test_y: np.ndarray, **kwargs) -> float:
    """Top-1 accuracy (%) on the test set of a linear classifier fit on the train set."""
    train_t, test_t = standardise(train_x, test_x)
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    classifier = train_linear_classifier(train_t, torch.from_numpy(train_y), num_classes,
                                         **kwargs)
    with torch.no_grad():
        predicted = classifier(test_t).argmax(1).numpy()
    return float((predicted == test_y).mean() * 100)
