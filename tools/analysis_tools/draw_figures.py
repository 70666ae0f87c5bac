"""Figures of a RotationPred checkpoint (attention maps, first-layer filters, training
curves): see rotation_pred/analysis_cli.py or --help."""
from rotation_pred.analysis_cli import draw_figures_main

if __name__ == '__main__':
    draw_figures_main()
