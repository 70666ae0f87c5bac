"""Train a model from a config, with MMPretrain's flags: see rotation_pred/cli/train.py
or --help."""
from rotation_pred.cli.train import main

if __name__ == '__main__':
    main()
