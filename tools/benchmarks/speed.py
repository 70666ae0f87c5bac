"""Speed benchmark of the data path and the training step: see
rotation_pred/benchmarks/speed.py or --help."""
from rotation_pred.benchmarks.speed import main

if __name__ == '__main__':
    main()
