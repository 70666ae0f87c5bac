"""Evaluate a checkpoint on the config's test set: see rotation_pred/cli/test.py or --help."""
from rotation_pred.cli.test import main

if __name__ == '__main__':
    main()
