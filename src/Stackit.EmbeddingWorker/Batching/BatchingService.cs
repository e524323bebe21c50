using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Stackit.EmbeddingWorker.Hosting;
using Stackit.EmbeddingWorker.Preparation;

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
    PipelineShutdown shutdown,
    TimeProvider time) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        shutdown.DrainAsync(BatchAsync, () => batches.TryComplete());

    private async Task BatchAsync(CancellationToken stoppingToken)
    {
        var batcher = new TokenBudgetBatcher(options);
        var lingerSince = 0L;
        while (true)
        {
            if (batcher.Count == 0)
            {
                if (!await chunks.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
                {
                    break;
                }
            }
            else
            {
                var remaining = options.MaxDelay - time.GetElapsedTime(lingerSince);
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
                    lingerSince = time.GetTimestamp();
                }
                foreach (var batch in batcher.Add(chunk))
                {
                    await batches.WriteAsync(batch, stoppingToken).ConfigureAwait(false);
                    lingerSince = time.GetTimestamp();
                }
            }
        }
        await FlushAsync(batcher, stoppingToken).ConfigureAwait(false);
    }

    /// <summary>True when a chunk arrived within <paramref name="timeout"/>, false when the linger ran out.</summary>
    private async Task<bool> WaitForChunkAsync(TimeSpan timeout, CancellationToken stoppingToken)
    {
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var delay = Task.Delay(timeout, time, linger.Token);
        var ready = chunks.WaitToReadAsync(linger.Token).AsTask();
        var first = await Task.WhenAny(delay, ready).ConfigureAwait(false);
        await linger.CancelAsync().ConfigureAwait(false);
        stoppingToken.ThrowIfCancellationRequested();
        return first == ready && await ready.ConfigureAwait(false);
    }

    private async Task FlushAsync(TokenBudgetBatcher batcher, CancellationToken stoppingToken)
    {
        if (batcher.Flush() is { } batch)
        {
            await batches.WriteAsync(batch, stoppingToken).ConfigureAwait(false);
        }
    }
}
