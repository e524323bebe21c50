using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Acknowledgement;
using Stackit.EmbeddingWorker.Hosting;
using Stackit.EmbeddingWorker.Intake;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>
/// Chunks each upsert job into inputs; sends deletes straight to the vector store. Drains on shutdown: it ends
/// when Intake has completed the job channel and every job in it is chunked (or when draining is aborted).
/// </summary>
internal sealed partial class PreparationService(
    ChannelReader<DocumentJob> jobs,
    ChannelWriter<DocumentChunk> chunks,
    ChannelWriter<DocumentJob> deletions,
    JobChunker chunker,
    OutcomeReporter outcomes,
    PipelineShutdown shutdown,
    ILogger<PreparationService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        shutdown.DrainAsync(PrepareAsync, () =>
        {
            chunks.TryComplete();
            deletions.TryComplete();
        });

    private async Task PrepareAsync(CancellationToken stoppingToken)
    {
        await foreach (var job in jobs.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            using var scope = JobLogScope.Begin(logger, job.Lease.MessageId, job.Message.Id);
            if (job.Message.Operation == JobOperation.Delete)
            {
                await deletions.WriteAsync(job, stoppingToken).ConfigureAwait(false);
                continue;
            }

            var prepared = chunker.Chunk(job);
            if (prepared.Count == 0)
            {
                outcomes.Rejected(job, "the text holds nothing to embed.");
                continue;
            }

            LogPrepared(job.Message.Id, prepared.Count);
            foreach (var chunk in prepared)
            {
                await chunks.WriteAsync(chunk, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Document {DocumentId} cut into {ChunkCount} chunks")]
    private partial void LogPrepared(string documentId, int chunkCount);
}
