"""Time and peak memory of the k-NN and SVM protocols on synthetic ImageNet-like
features: see rotation_pred/benchmarks/scale.py or --help. Example (docs/scale.md):

    python tools/benchmarks/scale.py --bank 200000 --queries 10000 --bank-chunks 65536,8192
"""
from rotation_pred.benchmarks.scale import main

if __name__ == '__main__':
    main()
