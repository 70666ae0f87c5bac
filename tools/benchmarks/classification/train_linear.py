"""Train a classifier on a pretrained backbone, test it, and report the result: see
rotation_pred/benchmarks/train_linear.py or --help."""
from rotation_pred.benchmarks.train_linear import main

if __name__ == '__main__':
    main()
