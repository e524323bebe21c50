using System.Threading.Channels;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>
/// Takes jobs in groups, reads what Qdrant holds of their documents, and then per job: skips it when a newer
/// version is stored, sends deletes straight to the vector store, and chunks upserts — chunks whose content hash
/// is stored already go straight to the vector store with their stored vector, the rest on to be embedded.
/// Drains on shutdown: it ends when Intake has completed the job channel and every job in it is prepared.
/// </summary>
internal sealed partial class PreparationService(
    ChannelReader<DocumentJob> jobs,
    Channel<Rechunk> rechunks,
    Channel<Resumption> resumed,
    ChannelWriter<DocumentChunk> chunks,
    ChannelWriter<Deletion> deletions,
    ChannelWriter<EmbeddedChunk> embedded,
    JobChunker chunker,
    IStoredDocuments storedState,
    PipelineContext context,
    ILogger<PreparationService> logger) : BackgroundService
{
    private JobLifecycle Lifecycle => context.Lifecycle;

    /// <summary>Jobs whose stored state is read in one round trip: as many as Intake receives in one call.</summary>
    private const int GroupSize = InFlightLimiter.MaxReceiveBatch;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        context.Shutdown.DrainAsync(abort => Task.WhenAll(PrepareAsync(abort), RechunkAsync(abort), ResumeAsync(abort)), () =>
        {
            chunks.TryComplete();
            deletions.TryComplete();
        });

    private async Task PrepareAsync(CancellationToken stoppingToken)
    {
        try
        {
            await PrepareJobsAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            // No new job comes, so no job is refused as too long or released by its document after what is on
            // its way now: one later than that leaves its message leased, and the lease keeper hands it back.
            rechunks.Writer.TryComplete();
            resumed.Writer.TryComplete();
        }
    }

    /// <summary>Jobs whose document's earlier job is done: prepared one by one, as they come.</summary>
    private async Task ResumeAsync(CancellationToken stoppingToken)
    {
        var unchanged = new List<(DocumentChunk Chunk, bool FromSource)>();
        await foreach (var resumption in resumed.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            await PrepareGroupAsync([resumption.Job], unchanged, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Jobs the endpoint refused a chunk of as too long come back here (from Embeddings, through the rechunk
    /// channel) to be cut again, smaller; their chunks are all embedded anew.
    /// </summary>
    private async Task RechunkAsync(CancellationToken stoppingToken)
    {
        await foreach (var rechunk in rechunks.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            var job = rechunk.Job;
            var again = chunker.Chunk(job);
            if (again.Count == 0)
            {
                Lifecycle.Rejected(job, "the text holds nothing to embed.");
                continue;
            }
            LogRechunked(job.Message.Id, job.Generation, again.Count);
            foreach (var chunk in again)
            {
                await chunks.WriteAsync(chunk, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task PrepareJobsAsync(CancellationToken stoppingToken)
    {
        var group = new List<DocumentJob>(GroupSize);
        var unchanged = new List<(DocumentChunk Chunk, bool FromSource)>();
        while (await jobs.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
        {
            group.Clear();
            unchanged.Clear();
            while (group.Count < GroupSize && jobs.TryRead(out var job))
            {
                // A job whose document has a job in the pipeline waits for it (and comes back through Resumed).
                if (Lifecycle.Enter(job))
                {
                    group.Add(job);
                }
            }
            await PrepareGroupAsync(group, unchanged, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task PrepareGroupAsync(List<DocumentJob> group, List<(DocumentChunk Chunk, bool FromSource)> unchanged, CancellationToken stoppingToken)
    {
        unchanged.Clear();
        if (group.Count == 0 || await ReadStoredStateAsync(group, stoppingToken).ConfigureAwait(false) is not var (stored, embeddings))
        {
            return;
        }
        foreach (var job in group)
        {
            await PrepareAsync(job, stored.GetValueOrDefault(job) ?? StoredDocument.None, embeddings.GetValueOrDefault(job.WriteCollection), unchanged, stoppingToken).ConfigureAwait(false);
        }
        if (unchanged.Count > 0)
        {
            await ReuseAsync(unchanged, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>What Qdrant holds of the group's documents, and the model of each collection they are written to.</summary>
    private async Task<(Dictionary<DocumentJob, StoredDocument> Stored, Dictionary<string, CollectionEmbedding?> Embeddings)?> ReadStoredStateAsync(List<DocumentJob> group, CancellationToken cancellationToken)
    {
        try
        {
            var embeddings = new Dictionary<string, CollectionEmbedding?>(StringComparer.Ordinal);
            foreach (var collection in group.Where(j => j.Message.Images.Count == 0 && j.Message.Operation == JobOperation.Upsert).Select(j => j.WriteCollection).Distinct(StringComparer.Ordinal))
            {
                embeddings[collection] = await storedState.EmbeddingOfAsync(collection, cancellationToken).ConfigureAwait(false);
            }
            return (await storedState.ReadAsync(group, cancellationToken).ConfigureAwait(false), embeddings);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogStoredStateFailed(group.Count, ex);
            context.DependencyFailed(context.Circuits.VectorStore, group, ex);
            return null;
        }
    }

    private async Task PrepareAsync(DocumentJob job, StoredDocument stored, CollectionEmbedding? embedding, List<(DocumentChunk Chunk, bool FromSource)> unchanged, CancellationToken cancellationToken)
    {
        using var scope = JobLogScope.Begin(logger, job.Lease.MessageId, job.Message.Id);
        if (stored.IsNewerThan(job.Message.Version))
        {
            LogSuperseded(job.Message.Id, job.Message.Version!.Value, stored.Version!.Value);
            context.Metrics.JobSuperseded();
            Lifecycle.Stored(job);
            return;
        }
        if (job.Message.Operation == JobOperation.Delete)
        {
            await deletions.WriteAsync(new Deletion(job), cancellationToken).ConfigureAwait(false);
            return;
        }

        if (chunker.RefuseMultimodal(job) is { } refusal)
        {
            Lifecycle.Rejected(job, refusal);
            return;
        }
        var prepared = chunker.Chunk(job, embedding);
        if (prepared.Count == 0)
        {
            Lifecycle.Rejected(job, "the text holds nothing to embed.");
            return;
        }

        var reused = 0;
        foreach (var chunk in prepared)
        {
            if (storedState.ReusesUnchanged && stored.Holds(chunk.Index, chunk.ContentHash))
            {
                unchanged.Add((chunk, stored.HeldBySource(chunk.Index, chunk.ContentHash)));
                reused++;
            }
            else
            {
                await chunks.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            }
        }
        LogPrepared(job.Message.Id, prepared.Count, reused);
    }

    /// <summary>
    /// Unchanged chunks are written again with their stored vector, so the new payload (version, title,
    /// metadata) lands without embedding them: a copy's chunk with the source's vector read with its text, the others
    /// with the vectors read now. Where the vector cannot be read, the chunk is embedded after all.
    /// </summary>
    private async Task ReuseAsync(List<(DocumentChunk Chunk, bool FromSource)> unchanged, CancellationToken cancellationToken)
    {
        var toRead = unchanged.FindAll(u => Carried(u) is null);
        Dictionary<DocumentChunk, float[]> vectors = [];
        try
        {
            if (toRead.Count > 0)
            {
                vectors = await storedState.ReadVectorsAsync(toRead, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogReuseFailed(toRead.Count, ex);
        }

        var (reused, reusedTokens) = (0, 0L);
        foreach (var item in unchanged)
        {
            var chunk = item.Chunk;
            if ((Carried(item) ?? vectors.GetValueOrDefault(chunk)) is { } vector)
            {
                reused++;
                reusedTokens += chunk.Tokens;
                await embedded.WriteAsync(new EmbeddedChunk(chunk, vector), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await chunks.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            }
        }
        context.Metrics.Reused(reused, reusedTokens);
    }

    /// <summary>The source's vector of a copy's chunk, read with its text and hash, when the source holds the chunk.</summary>
    private static float[]? Carried((DocumentChunk Chunk, bool FromSource) unchanged) =>
        unchanged.FromSource && unchanged.Chunk.Job.Generation == 0 ? unchanged.Chunk.Job.Copy?.SourceVectorOf(unchanged.Chunk.Index) : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Document {DocumentId} chunked again, smaller (generation {Generation}): {ChunkCount} chunks")]
    private partial void LogRechunked(string documentId, int generation, int chunkCount);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Document {DocumentId} cut into {ChunkCount} chunks, {Unchanged} of them unchanged")]
    private partial void LogPrepared(string documentId, int chunkCount, int unchanged);

    [LoggerMessage(Level = LogLevel.Information, Message = "Skipped document {DocumentId} at version {Version}: Qdrant holds version {StoredVersion}")]
    private partial void LogSuperseded(string documentId, long version, long storedVersion);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the stored state of {Count} documents from Qdrant failed; their messages are tried again")]
    private partial void LogStoredStateFailed(int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the stored vectors of {Count} unchanged chunks failed; they are embedded again instead")]
    private partial void LogReuseFailed(int count, Exception exception);
}
