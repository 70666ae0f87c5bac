"""Extract the backbone of a pretrained checkpoint as a backbone-only checkpoint: see
rotation_pred/benchmarks/converters_cli.py or --help."""
from rotation_pred.benchmarks.converters_cli import extract_main

if __name__ == '__main__':
    extract_main()
