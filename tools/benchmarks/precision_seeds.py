"""Does bf16 cost accuracy? Pretraining in two precisions over several seeds, scored by
the linear probe: see rotation_pred/benchmarks/precision_seeds.py or --help."""
from rotation_pred.benchmarks.precision_seeds import main

if __name__ == '__main__':
    main()
