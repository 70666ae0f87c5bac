"""Write class-balanced 1% and 10% subsets of an ImageNet-style meta list: see
rotation_pred/benchmarks/semi_supervised.py or --help."""
from rotation_pred.benchmarks.semi_supervised import subsets_main

if __name__ == '__main__':
    subsets_main()
