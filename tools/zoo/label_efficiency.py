"""Measure the label-efficiency curve on Fashion-MNIST into
zoo/results/label_efficiency.jsonl and draw it: see
rotation_pred/benchmarks/label_efficiency.py or --help."""
from rotation_pred.benchmarks.label_efficiency import main

if __name__ == '__main__':
    main()
