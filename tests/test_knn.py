"""The k-NN vote streams over query and bank blocks with the result of one unchunked
vote, for torch fp16/fp32 and numpy (memmap) inputs; it refuses what it cannot do; the
scale benchmark returns the numbers it prints."""
import re

import numpy as np
import pytest
import torch

from rotation_pred.evaluation.knn import KNN_KS, knn_accuracy, knn_votes


def features(num_bank=600, num_query=150, dims=24, classes=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dims, generator=generator)
    bank_y = torch.randint(classes, (num_bank, ), generator=generator)
    query_y = torch.randint(classes, (num_query, ), generator=generator)
    bank_x = centres[bank_y] + 1.5 * torch.randn(num_bank, dims, generator=generator)
    query_x = centres[query_y] + 1.5 * torch.randn(num_query, dims, generator=generator)
    return bank_x, bank_y, query_x, query_y


def test_the_default_ks_are_the_protocols():
    assert KNN_KS == (10, 20, 100, 200)


@pytest.mark.parametrize('dtype', [torch.float16, torch.float32])
def test_bank_and_query_chunks_give_the_unchunked_votes(dtype):
    bank_x, bank_y, query_x, query_y = features()
    bank_x, query_x = bank_x.to(dtype), query_x.to(dtype)
    ks = (1, 10, 200)
    whole = knn_votes(bank_x, bank_y, query_x, ks, query_chunk=len(query_x),
                      bank_chunk=len(bank_x))
    # 600 bank rows in blocks of 97 (the last one short), 150 queries in blocks of 40;
    # the blocks are smaller than k=200, so the running top merges across blocks
    chunked = knn_votes(bank_x, bank_y, query_x, ks, query_chunk=40, bank_chunk=97)
    for k in ks:
        assert chunked[k].dtype == torch.float32 and chunked[k].shape == (150, 6)
        torch.testing.assert_close(chunked[k], whole[k], rtol=1e-5, atol=1e-5)
    assert (knn_accuracy(bank_x, bank_y, query_x, query_y, ks, query_chunk=40,
                         bank_chunk=97)
            == knn_accuracy(bank_x, bank_y, query_x, query_y, ks, query_chunk=150,
                            bank_chunk=600))


def test_numpy_and_memmap_banks_give_the_tensor_votes(tmp_path):
    bank_x, bank_y, query_x, _ = features()
    bank_x, query_x = bank_x.half(), query_x.half()
    expected = knn_votes(bank_x, bank_y, query_x, (20, ))[20]
    path = str(tmp_path / 'bank.npy')
    np.save(path, bank_x.numpy())
    bank = np.load(path, mmap_mode='r')  # read-only: copied block by block
    votes = knn_votes(bank, bank_y.numpy(), query_x.numpy(), (20, ), bank_chunk=128)[20]
    assert votes.device.type == 'cpu'
    torch.testing.assert_close(votes, expected, rtol=1e-5, atol=1e-5)


def test_the_vote_does_not_write_into_an_fp32_bank():
    bank_x, bank_y, query_x, _ = features()
    before = bank_x.clone(), query_x.clone()
    knn_votes(bank_x, bank_y, query_x, (10, ), bank_chunk=100, query_chunk=50)
    assert torch.equal(bank_x, before[0]) and torch.equal(query_x, before[1])


def test_each_k_weighs_its_k_nearest():
    # query along x; bank rows at decreasing cosine 1, 0.8, 0.6, 0 with classes 0, 1, 1, 2
    bank_x = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
    bank_y = torch.tensor([0, 1, 1, 2])
    votes = knn_votes(bank_x, bank_y, torch.tensor([[2.0, 0.0]]), (1, 2, 4),
                      temperature=0.5, bank_chunk=1)
    w = torch.exp(torch.tensor([1.0, 0.8, 0.6, 0.0]) / 0.5).tolist()
    torch.testing.assert_close(votes[1][0], torch.tensor([w[0], 0.0, 0.0]))
    torch.testing.assert_close(votes[2][0], torch.tensor([w[0], w[1], 0.0]))
    torch.testing.assert_close(votes[4][0], torch.tensor([w[0], w[1] + w[2], w[3]]))


def test_bad_ks_and_chunks_are_refused_by_name():
    bank_x, bank_y, query_x, query_y = features(num_bank=30)
    with pytest.raises(ValueError, match='k=31 is larger than the 30 training'):
        knn_votes(bank_x, bank_y, query_x, (10, 31))
    with pytest.raises(ValueError, match='k=0 must be an integer >= 1'):
        knn_votes(bank_x, bank_y, query_x, (0, ))
    with pytest.raises(ValueError, match='bank_chunk=0'):
        knn_votes(bank_x, bank_y, query_x, (5, ), bank_chunk=0)
    with pytest.raises(ValueError, match='no query features'):
        knn_accuracy(bank_x, bank_y, query_x[:0], query_y[:0], (5, ))


def test_the_scale_benchmark_returns_what_it_prints(capsys):
    from rotation_pred.benchmarks.scale import main
    result = main(['--bank', '2000', '--dim', '64', '--queries', '300', '--classes', '10',
                   '--bank-chunks', '1024,256', '--ks', '20,200', '--svm-train', '400',
                   '--svm-test', '100', '--svm-classes', '3', '--svm-costs', '1',
                   '--n-jobs', '1', '--device', 'cpu'])
    out = capsys.readouterr().out
    assert [row['bank_chunk'] for row in result['knn']] == [1024, 256]
    table = [line for line in out.splitlines() if re.match(r'\| [\d,]+ \| 1,024 \|', line)]
    assert len(table) == 2
    for line, row in zip(table, result['knn']):
        cells = [c.strip() for c in line.strip('|').split('|')]
        assert cells[0] == f"{row['bank_chunk']:,}"
        assert cells[2] == f"{row['seconds']:.1f}" and cells[4] == f"{row['peak_mib']:.0f}"
        assert cells[5] == f"{row['model_mib']:.0f}"
        assert cells[6:] == [f"{row['top1'][20]:.2f}", f"{row['top1'][200]:.2f}"]
        assert row['peak_mib'] >= 0 and row['seconds'] > 0
    # the same neighbours whatever the chunk
    assert result['knn'][0]['top1'] == result['knn'][1]['top1']
    ratios = result['ratios']
    assert f"peak memory x{ratios['peak']:.2f} (model x{ratios['model']:.2f})" in out
    assert ratios['bank_chunk'] == 4.0 and ratios['model'] > 1
    svm = result['svm']
    assert svm['fits'] == 3 * 1 * 3 + 3 and 0 <= svm['mAP'] <= 100
    assert (f"| 400 | 100 | 64 | 3 | {svm['fits']} | {svm['seconds']:.1f} | "
            f"{svm['seconds_per_fit']:.2f} | {svm['peak_mib']:.0f} | {svm['mAP']:.2f} |"
            in out)
