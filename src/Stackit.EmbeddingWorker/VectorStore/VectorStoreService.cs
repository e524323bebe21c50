using System.Threading.Channels;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Upserts embedded chunks in batches of up to <c>Qdrant:UpsertBatchSize</c> with a few writers in parallel.
/// When the last chunk of a job is stored, the ordering rule finishes it (<see cref="DocumentOrdering"/>: the stale
/// tail, a retreat from a newer state; jobs stored meanwhile are finished together, <see cref="JobFinisher"/>) and
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
    JobFinisher finisher,
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

    /// <summary>The upserters, then the finisher (<see cref="JobFinisher.RunAsync"/>) until it has finished every job they stored.</summary>
    private async Task UpsertThenFinishAsync(CancellationToken stoppingToken)
    {
        var finishing = finisher.RunAsync(stoppingToken);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, options.MaxConcurrentUpserts).Select(_ => RunUpserterAsync(stoppingToken))).ConfigureAwait(false);
        }
        finally
        {
            finisher.Complete();
        }
        await finishing.ConfigureAwait(false);
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
            finisher.ReportFailure(chunks.Select(c => c.Chunk.Job).Distinct(), ex);
            return;
        }

        // The lifecycle says which jobs these chunks finished; a job settled meanwhile (failed, chunked anew, or
        // rejected: then withdrawn) is not this writer's to finish.
        foreach (var job in chunks.GroupBy(c => c.Chunk.Job).Where(job => Lifecycle.ChunksStored(job.Key, job.Count())))
        {
            finisher.Stored(collection, job.First());
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

    /// <summary>Where a document may have points: its collection, and the multimodal one when this worker embeds images.</summary>
    private IEnumerable<string> CollectionsOf(DocumentJob job) =>
        job.Copy is not null || models.Multimodal is null || string.Equals(job.Message.Collection, options.MultimodalCollection, StringComparison.Ordinal)
            ? [job.WriteCollection]
            : [job.Message.Collection, options.MultimodalCollection];

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
                if (await finisher.RecordForBackfillAsync(job.Message.Collection, job.Copy is null ? [job] : [], stoppingToken).ConfigureAwait(false))
                {
                    Lifecycle.Stored(job);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                finisher.ReportFailure([job], ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deleted document {DocumentId} from {Collection}")]
    private partial void LogDeleted(string documentId, string collection);

    [LoggerMessage(Level = LogLevel.Information, Message = "Qdrant refused an upsert of {Count} points; storing each job on its own to find the one at fault: {Reason}")]
    private partial void LogSplittingRejectedBatch(int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Document {DocumentId} withdrawn from {Collection}: its job was rejected after some of its chunks were stored")]
    private partial void LogWithdrawn(string documentId, string collection);

    [LoggerMessage(Level = LogLevel.Error, Message = "Document {DocumentId} could not be withdrawn from {Collection} after its job was rejected; it may hold chunks of two versions")]
    private partial void LogWithdrawFailed(Exception exception, string documentId, string collection);
}
