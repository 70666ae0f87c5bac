"""The cost of `import rotation_pred` with and without the extras: see
rotation_pred/benchmarks/import_time.py or --help."""
from rotation_pred.benchmarks.import_time import main

if __name__ == '__main__':
    main()
