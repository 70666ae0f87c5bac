"""Plot the online k-NN top-1 and the rotation accuracy per epoch of a pretraining run:
see rotation_pred/analysis_cli.py or --help."""
from rotation_pred.analysis_cli import plot_online_knn_main

if __name__ == '__main__':
    plot_online_knn_main()
