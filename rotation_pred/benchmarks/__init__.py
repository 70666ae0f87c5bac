"""The benchmark layer: frozen-feature protocols (linear probe, k-NN, SVM, low-shot SVM,
multi-level pooling) and the one reader of pretrained backbone weights
(:mod:`.checkpoint`); result rows with their provenance (:mod:`.results`), their one
renderer (:mod:`.render`, :mod:`.best_level`, over :mod:`.tables`), and features
extracted once (:mod:`.feature_cache`, :mod:`.progress`).

Only the tools (``tools/benchmarks``, ``tools/zoo``, ``tools/model_converters``,
``tools/*.py``) and the tests import it, one module at a time: this file imports nothing,
so ``import rotation_pred.benchmarks.checkpoint`` does not load scikit-learn, and
``import rotation_pred`` (training) loads none of this package.
"""
