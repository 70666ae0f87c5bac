"""Collect the runs of a semi-supervised learning-rate grid into one table: see
rotation_pred/benchmarks/semi_supervised.py or --help."""
from rotation_pred.benchmarks.semi_supervised import summarize_main

if __name__ == '__main__':
    summarize_main()
