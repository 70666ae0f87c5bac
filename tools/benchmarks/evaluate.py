"""Evaluate a checkpoint with the frozen-feature protocols (linear_probe, knn, svm,
low_shot, rotation_accuracy): see rotation_pred/benchmarks/evaluate_cli.py or --help."""
from rotation_pred.benchmarks.evaluate_cli import main

if __name__ == '__main__':
    main()
