"""Evaluate the Fashion-MNIST zoo into zoo/results/rows.jsonl: see
rotation_pred/benchmarks/zoo_evaluate.py or --help."""
from rotation_pred.benchmarks.zoo_evaluate import main

if __name__ == '__main__':
    main()
