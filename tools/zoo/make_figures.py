"""Draw the zoo's figures into docs/figures/: see rotation_pred/benchmarks/zoo_figures.py."""
from rotation_pred.benchmarks.zoo_figures import main

if __name__ == '__main__':
    main()
