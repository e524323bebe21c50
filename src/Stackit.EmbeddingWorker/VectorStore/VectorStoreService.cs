using System.Threading.Channels;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Upserts embedded chunks in batches of up to <c>Qdrant:UpsertBatchSize</c> with a few writers in parallel.
/// When the last chunk of a job is stored, the ordering rule finishes it (<see cref="DocumentOrdering"/>: the stale
/// tail, a retreat from a newer state; jobs stored meanwhile are finished together, <see cref="RunFinisherAsync"/>) and
/// the job is reported stored; the new points are written before the old
/// tail goes, so a failure leaves the document searchable (see docs/qdrant.md); a job rejected after some of its
/// chunks were stored is withdrawn (<see cref="PipelineChannels.Withdrawals"/>).
/// </summary>
internal sealed partial class VectorStoreService(
    ChannelReader<EmbeddedChunk> embedded,
    ChannelReader<Deletion> deletions,
    ChannelReader<Withdrawal> withdrawals,
    QdrantPointWriter writer,
    DocumentOrdering ordering,
    IDocumentChangeObserver changes,
    QdrantOptions options,
    EmbeddingModels models,
    PipelineContext context,
    ILogger<VectorStoreService> logger) : BackgroundService
{
    private JobLifecycle Lifecycle => context.Lifecycle;

    /// <summary>
    /// Drains on shutdown: ends when both input channels are complete and written out. It is the last stage that
    /// reports outcomes, so it completes the outcome channel, which ends Acknowledgement.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        context.Shutdown.DrainAsync(
            abort =>
            {
                var writers = Task.WhenAll(UpsertThenFinishAsync(abort), RunDeleterAsync(abort));
                return Task.WhenAll(writers, RunWithdrawerAsync(writers, abort));
            },
            () => Lifecycle.Complete());

    /// <summary>
    /// Jobs whose last chunk is stored, waiting for the finisher (<see cref="RunFinisherAsync"/>): at most the jobs in
    /// flight, so it needs no bound of its own.
    /// </summary>
    private readonly Channel<(string Collection, EmbeddedChunk Chunk)> _finishing =
        Channel.CreateUnbounded<(string, EmbeddedChunk)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>The upserters, then the finisher until it has finished every job they stored.</summary>
    private async Task UpsertThenFinishAsync(CancellationToken stoppingToken)
    {
        var finisher = RunFinisherAsync(stoppingToken);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, options.MaxConcurrentUpserts).Select(_ => RunUpserterAsync(stoppingToken))).ConfigureAwait(false);
        }
        finally
        {
            _finishing.Writer.TryComplete();
        }
        await finisher.ConfigureAwait(false);
    }

    private async Task RunUpserterAsync(CancellationToken stoppingToken)
    {
        var batch = new List<EmbeddedChunk>(options.UpsertBatchSize);
        while (await embedded.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
        {
            while (batch.Count < options.UpsertBatchSize && embedded.TryRead(out var chunk))
            {
                if (!chunk.Chunk.Job.Progress.IsSettled)
                {
                    batch.Add(chunk);
                }
            }
            foreach (var group in batch.GroupBy(c => c.Chunk.Job.WriteCollection, StringComparer.Ordinal))
            {
                await StoreAsync(group.Key, group.ToList(), stoppingToken).ConfigureAwait(false);
            }
            batch.Clear();
        }
    }

    private async Task StoreAsync(string collection, List<EmbeddedChunk> chunks, CancellationToken cancellationToken)
    {
        try
        {
            await writer.UpsertAsync(collection, chunks, cancellationToken).ConfigureAwait(false);
            context.Circuits.VectorStore.Success();
        }
        catch (VectorStoreRejectedException ex) when (chunks.Select(c => c.Chunk.Job).Distinct().Skip(1).Any())
        {
            // One job's points make Qdrant refuse the whole request: each job is stored on its own, so only the
            // job at fault is rejected.
            LogSplittingRejectedBatch(chunks.Count, ex.Message);
            foreach (var job in chunks.GroupBy(c => c.Chunk.Job))
            {
                await StoreAsync(collection, job.ToList(), cancellationToken).ConfigureAwait(false);
            }
            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            ReportFailure(chunks.Select(c => c.Chunk.Job).Distinct(), ex);
            return;
        }

        // The lifecycle says which jobs these chunks finished; a job settled meanwhile (failed, chunked anew, or
        // rejected: then withdrawn) is not this writer's to finish.
        foreach (var job in chunks.GroupBy(c => c.Chunk.Job).Where(job => Lifecycle.ChunksStored(job.Key, job.Count())))
        {
            _finishing.Writer.TryWrite((collection, job.First()));
        }
    }

    /// <summary>
    /// Finishes the jobs the upserters stored, one call sequence for as many as have come in meanwhile (up to
    /// <c>Qdrant:UpsertBatchSize</c> documents a collection): while one group is finished the next gathers, so a busy
    /// writer (a backfill copy's upserts of 128 points that each complete some 30 documents) spends three calls on
    /// many batches instead of on each, and a quiet one finishes each job as soon as it is stored.
    /// </summary>
    private async Task RunFinisherAsync(CancellationToken stoppingToken)
    {
        var group = new List<(string Collection, EmbeddedChunk Chunk)>();
        while (await _finishing.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
        {
            while (group.Count < options.UpsertBatchSize && _finishing.Reader.TryRead(out var finished))
            {
                group.Add(finished);
            }
            foreach (var collection in group.GroupBy(f => f.Collection, StringComparer.Ordinal))
            {
                await FinishAsync(collection.Key, collection.Select(f => f.Chunk).ToList(), stoppingToken).ConfigureAwait(false);
            }
            group.Clear();
        }
    }

    /// <summary>
    /// Withdraws the jobs the lifecycle rejected after some of their chunks were stored, until the writers have ended
    /// and nothing is left to withdraw.
    /// </summary>
    private async Task RunWithdrawerAsync(Task writers, CancellationToken stoppingToken)
    {
        while (true)
        {
            // Read before draining: a withdrawal a writer queued just before it ended is still drained.
            var writersEnded = writers.IsCompleted;
            while (withdrawals.TryRead(out var withdrawal))
            {
                await WithdrawAsync(withdrawal.Job, stoppingToken).ConfigureAwait(false);
            }
            if (writersEnded)
            {
                return;
            }
            await Task.WhenAny(withdrawals.WaitToReadAsync(stoppingToken).AsTask(), writers).ConfigureAwait(false);
            stoppingToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Removes a rejected job's document as far as the job could replace it (its own chunks and the older version's
    /// it would have replaced), so no document is left half new, half old. A newer job's points stay. Its message is
    /// poisoned with the reason; a corrected job brings the document back.
    /// </summary>
    private async Task WithdrawAsync(DocumentJob job, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var collection in CollectionsOf(job))
            {
                await ordering.RemoveAsync(collection, [job.Write], cancellationToken).ConfigureAwait(false);
            }
            LogWithdrawn(job.Message.Id, job.WriteCollection);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogWithdrawFailed(ex, job.Message.Id, job.WriteCollection);
        }
    }

    /// <summary>
    /// Jobs whose last chunk is now stored: their stale tails go, an older writer retreats from a newer state, the
    /// other modality's collection forgets them, a running backfill hears of them, and they are reported stored.
    /// </summary>
    private async Task FinishAsync(string collection, List<EmbeddedChunk> completed, CancellationToken cancellationToken)
    {
        var jobs = completed.Select(c => c.Chunk.Job).ToList();
        // Backfill copies change no other collection, and a running backfill needs no news of them.
        var live = jobs.FindAll(j => j.Copy is null);
        try
        {
            await ordering.FinishAsync(collection, completed.ConvertAll(c => (c.Chunk.Job.Message.Collection, c.Chunk.Job.Write, c.Chunk.Count)), cancellationToken).ConfigureAwait(false);
            if (live.Count > 0 && OtherModality(collection) is { } other)
            {
                // A document that switched between text only and text with images leaves nothing in the other collection.
                await ordering.RemoveAsync(other, live.ConvertAll(j => j.Write), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            ReportFailure(jobs, ex);
            return;
        }
        if (await RecordForBackfillAsync(collection, live, cancellationToken).ConfigureAwait(false))
        {
            foreach (var job in jobs)
            {
                Lifecycle.Stored(job);
            }
        }
    }

    /// <summary>Where a document may have points: its collection, and the multimodal one when this worker embeds images.</summary>
    private IEnumerable<string> CollectionsOf(DocumentJob job) =>
        job.Copy is not null || models.Multimodal is null || string.Equals(job.Message.Collection, options.MultimodalCollection, StringComparison.Ordinal)
            ? [job.WriteCollection]
            : [job.Message.Collection, options.MultimodalCollection];

    /// <summary>
    /// Where the document may hold points of the other modality: the multimodal collection for a text job, the
    /// default collection for a job with images; none when this worker embeds no images.
    /// </summary>
    private string? OtherModality(string collection) =>
        models.Multimodal is null ? null
        : string.Equals(collection, options.MultimodalCollection, StringComparison.Ordinal) ? options.Collection
        : options.MultimodalCollection;

    /// <summary>
    /// Tells a running backfill of the collection about these documents; when that fails, the jobs are tried again
    /// (their writes are idempotent), so no live change is missing from the collection the backfill builds.
    /// </summary>
    private async Task<bool> RecordForBackfillAsync(string collection, List<DocumentJob> jobs, CancellationToken cancellationToken)
    {
        try
        {
            await changes.DocumentsChangedAsync(collection, jobs.ConvertAll(j => j.Message.Id), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogBackfillRecordFailed(collection, ex);
            foreach (var job in jobs)
            {
                Lifecycle.Failed(job, $"stored, but the change could not be recorded for the backfill of '{collection}': {ex.Message}");
            }
            return false;
        }
    }

    private async Task RunDeleterAsync(CancellationToken stoppingToken)
    {
        await foreach (var deletion in deletions.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            var job = deletion.Job;
            try
            {
                foreach (var collection in CollectionsOf(job))
                {
                    if (job.Copy is not null)
                    {
                        // A document gone from a backfill's source: gone from the target as far as it was deleted.
                        await ordering.DeleteGoneFromSourceAsync(collection, job.Message.Collection, job.Message.Id, stoppingToken).ConfigureAwait(false);
                        continue;
                    }
                    // The ordering rule's delete: the tombstone first, then the points (DocumentOrdering.DeleteAsync).
                    await ordering.DeleteAsync(collection, job.Write, job.ReceivedAt ?? context.Time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
                }
                context.Circuits.VectorStore.Success();
                LogDeleted(job.Message.Id, job.Message.Collection);
                if (await RecordForBackfillAsync(job.Message.Collection, job.Copy is null ? [job] : [], stoppingToken).ConfigureAwait(false))
                {
                    Lifecycle.Stored(job);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                ReportFailure([job], ex);
            }
        }
    }

    /// <summary>A rejection poisons the jobs; anything else is Qdrant being unavailable, which feeds its circuit.</summary>
    private void ReportFailure(IEnumerable<DocumentJob> jobs, Exception exception)
    {
        LogWriteFailed(exception);
        if (exception is not VectorStoreRejectedException)
        {
            context.DependencyFailed(context.Circuits.VectorStore, jobs, exception);
            return;
        }
        foreach (var job in jobs)
        {
            Lifecycle.Rejected(job, exception.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deleted document {DocumentId} from {Collection}")]
    private partial void LogDeleted(string documentId, string collection);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording changed documents for the backfill of {Collection} failed; their jobs are tried again")]
    private partial void LogBackfillRecordFailed(string collection, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Qdrant refused an upsert of {Count} points; storing each job on its own to find the one at fault: {Reason}")]
    private partial void LogSplittingRejectedBatch(int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Document {DocumentId} withdrawn from {Collection}: its job was rejected after some of its chunks were stored")]
    private partial void LogWithdrawn(string documentId, string collection);

    [LoggerMessage(Level = LogLevel.Error, Message = "Document {DocumentId} could not be withdrawn from {Collection} after its job was rejected; it may hold chunks of two versions")]
    private partial void LogWithdrawFailed(Exception exception, string documentId, string collection);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing to Qdrant failed")]
    private partial void LogWriteFailed(Exception exception);
}
