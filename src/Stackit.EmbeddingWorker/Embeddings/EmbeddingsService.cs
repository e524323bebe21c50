using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly.Timeout;
using Stackit.EmbeddingWorker.Acknowledgement;
using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Preparation;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>
/// Keeps <c>Embeddings:MaxConcurrency</c> requests in flight. A batch the server refuses for its inputs is
/// split in halves until the offending input stands alone; only that input's job is rejected.
/// </summary>
internal sealed partial class EmbeddingsService(
    ChannelReader<EmbeddingBatch> batches,
    ChannelWriter<EmbeddedChunk> embedded,
    IEmbeddingClient client,
    EmbeddingsOptions options,
    OutcomeReporter outcomes,
    ILogger<EmbeddingsService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, options.MaxConcurrency).Select(_ => RunWorkerAsync(stoppingToken)));

    private async Task RunWorkerAsync(CancellationToken stoppingToken)
    {
        await foreach (var batch in batches.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            await EmbedAsync(batch.Chunks, stoppingToken).ConfigureAwait(false);
        }
    }

    internal async Task EmbedAsync(IReadOnlyList<DocumentChunk> chunks, CancellationToken cancellationToken)
    {
        // Chunks of a job that already failed elsewhere need no vectors.
        var live = chunks.Where(c => !c.Job.Progress.IsSettled).ToList();
        if (live.Count == 0)
        {
            return;
        }

        EmbeddingResult result;
        try
        {
            result = await client.EmbedAsync(live.ConvertAll(c => c.Text), cancellationToken).ConfigureAwait(false);
        }
        catch (EmbeddingRequestException ex) when (ex.IsInputProblem && live.Count > 1)
        {
            LogSplitting(live.Count, (int)ex.Status);
            var half = live.Count / 2;
            await EmbedAsync(live[..half], cancellationToken).ConfigureAwait(false);
            await EmbedAsync(live[half..], cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (EmbeddingRequestException ex) when (ex.IsInputProblem)
        {
            var chunk = live[0];
            await outcomes.RejectedAsync(chunk.Job, $"the embeddings endpoint rejected chunk {chunk.Index} ({(int)ex.Status}): {ex.ServerMessage}", cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (ex is EmbeddingRequestException or EmbeddingResponseException or HttpRequestException or TimeoutRejectedException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogBatchFailed(live.Count, ex.Message);
            await FailAllAsync(live, ex.Message, cancellationToken).ConfigureAwait(false);
            return;
        }

        for (var i = 0; i < live.Count; i++)
        {
            await embedded.WriteAsync(new EmbeddedChunk(live[i], result.Vectors[i], options.Model), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task FailAllAsync(List<DocumentChunk> chunks, string reason, CancellationToken cancellationToken)
    {
        foreach (var job in chunks.Select(c => c.Job).Distinct())
        {
            await outcomes.FailedAsync(job, reason, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Embeddings endpoint refused a batch of {Count} inputs ({Status}); splitting it to find the input at fault")]
    private partial void LogSplitting(int count, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedding a batch of {Count} inputs failed after retries: {Reason}")]
    private partial void LogBatchFailed(int count, string reason);
}
