"""The benchmark layer: evaluation of frozen features and of checkpoints.

* :mod:`.extraction` the one feature extractor (sharded, cached, resumable, distributed);
* :mod:`.protocols` the protocols over features, by name (linear_probe, knn, svm,
  low_shot), and :mod:`.evaluate` which runs them on a checkpoint
  (``tools/benchmarks/evaluate.py``, :mod:`.evaluate_cli`);
* :mod:`.checkpoint` the one reader and converter of pretrained weights, :mod:`.export`
  to torchvision and timm;
* :mod:`.rows` result rows and :mod:`.provenance` where each number comes from;
  :mod:`.render` and :mod:`.best_level` their tables;
* :mod:`.zoo` the Fashion-MNIST zoo as data, :mod:`.zoo_evaluate` its driver.

Only the tools and the tests import it, one module at a time: this file imports nothing,
so ``import rotation_pred`` (training) loads none of it, nor scikit-learn.
"""
