"""Fine-tune a detector or segmentor from a RotationPred backbone, then evaluate it: see
rotation_pred/benchmarks/transfer_train.py or --help."""
from rotation_pred.benchmarks.transfer_train import main

if __name__ == '__main__':
    main()
