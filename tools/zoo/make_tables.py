"""Rebuild the model-zoo tables of the docs and the model index from zoo/results: see
rotation_pred/benchmarks/zoo_tables.py or --help."""
from rotation_pred.benchmarks.zoo_tables import main

if __name__ == '__main__':
    main()
