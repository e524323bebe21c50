using System.Threading.Channels;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Batching;

/// <summary>
/// Fills requests from the chunk stream. A full batch leaves at once; a partial one lingers at most
/// <c>Batching:MaxDelay</c> after its first chunk arrived, so light load still gets full-ish requests.
/// Drains on shutdown: when the chunk channel completes, the last partial batch is flushed at once.
/// </summary>
internal sealed class BatchingService(
    ChannelReader<DocumentChunk> chunks,
    ChannelWriter<EmbeddingBatch> batches,
    BatchingOptions options,
    PipelineContext context) : BackgroundService
{
    private TimeProvider Time => context.Time;

    // One wait for the next chunk, kept across lingers: a linger that runs out leaves it pending instead of
    // cancelling it. A cancelled channel wait throws inside the channel, about once per batch under load, and
    // every one of those counts in the runtime's exception metric.
    private Task<bool>? _chunkWait;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        context.Shutdown.DrainAsync(BatchAsync, () => batches.TryComplete());

    private async Task BatchAsync(CancellationToken stoppingToken)
    {
        var batcher = new TokenBudgetBatcher(options);
        var lingerSince = 0L;
        while (true)
        {
            if (batcher.Count == 0)
            {
                if (!await WaitForChunkAsync(Timeout.InfiniteTimeSpan, stoppingToken).ConfigureAwait(false))
                {
                    break;
                }
            }
            else
            {
                var remaining = options.MaxDelay - Time.GetElapsedTime(lingerSince);
                if (remaining <= TimeSpan.Zero || !await WaitForChunkAsync(remaining, stoppingToken).ConfigureAwait(false))
                {
                    await FlushAsync(batcher, stoppingToken).ConfigureAwait(false);
                    continue;
                }
            }

            while (chunks.TryRead(out var chunk))
            {
                if (batcher.Count == 0)
                {
                    lingerSince = Time.GetTimestamp();
                }
                foreach (var batch in batcher.Add(chunk))
                {
                    await batches.WriteAsync(batch, stoppingToken).ConfigureAwait(false);
                    lingerSince = Time.GetTimestamp();
                }
            }
        }
        await FlushAsync(batcher, stoppingToken).ConfigureAwait(false);
    }

    /// <summary>
    /// True when a chunk arrived within <paramref name="timeout"/> (or <see cref="Timeout.InfiniteTimeSpan"/>);
    /// false when the linger ran out or the chunk channel completed.
    /// </summary>
    private async Task<bool> WaitForChunkAsync(TimeSpan timeout, CancellationToken stoppingToken)
    {
        var wait = _chunkWait ??= chunks.WaitToReadAsync(stoppingToken).AsTask();
        if (!wait.IsCompleted && timeout != Timeout.InfiniteTimeSpan)
        {
            using var linger = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var first = await Task.WhenAny(wait, Task.Delay(timeout, Time, linger.Token)).ConfigureAwait(false);
            // Only the delay is cancelled here, and a cancelled delay ends without throwing.
            await linger.CancelAsync().ConfigureAwait(false);
            stoppingToken.ThrowIfCancellationRequested();
            if (first != wait)
            {
                return false;
            }
        }
        _chunkWait = null;
        return await wait.ConfigureAwait(false);
    }

    private async Task FlushAsync(TokenBudgetBatcher batcher, CancellationToken stoppingToken)
    {
        if (batcher.Flush() is { } batch)
        {
            await batches.WriteAsync(batch, stoppingToken).ConfigureAwait(false);
        }
    }
}
