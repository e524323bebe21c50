using System.Threading.Channels;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>
/// What one request loop reads next: a live batch whenever one waits, else a copy batch when the loop may take copies.
/// The loop's pending waits are kept across reads, so a lane that stays empty does not gather a waiter per read.
/// </summary>
internal sealed class BatchLanes(ChannelReader<EmbeddingBatch> live, ChannelReader<EmbeddingBatch>? copies)
{
    private Task<bool>? _liveWait;
    private Task<bool>? _copyWait;
    private bool _liveDone;
    private bool _copiesDone = copies is null;

    /// <summary>The next batch, or null once both lanes are complete and empty.</summary>
    public async ValueTask<EmbeddingBatch?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (live.TryRead(out var batch) || (copies is not null && copies.TryRead(out batch)))
            {
                return batch;
            }
            if (_liveDone && _copiesDone)
            {
                return null;
            }
            if (!_liveDone)
            {
                _liveWait ??= live.WaitToReadAsync(cancellationToken).AsTask();
            }
            if (!_copiesDone)
            {
                _copyWait ??= copies!.WaitToReadAsync(cancellationToken).AsTask();
            }
            Task next = _liveDone ? _copyWait! : _copiesDone ? _liveWait! : Task.WhenAny(_liveWait!, _copyWait!);
            await next.ConfigureAwait(false);
            if (_liveWait is { IsCompleted: true })
            {
                _liveDone = !await _liveWait.ConfigureAwait(false);
                _liveWait = null;
            }
            if (_copyWait is { IsCompleted: true })
            {
                _copiesDone = !await _copyWait.ConfigureAwait(false);
                _copyWait = null;
            }
        }
    }
}
