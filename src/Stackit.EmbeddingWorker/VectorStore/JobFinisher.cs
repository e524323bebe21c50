using System.Threading.Channels;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// What follows the vector store's writes. Jobs whose last chunk is stored are finished by the ordering rule
/// (<see cref="DocumentOrdering.FinishAsync"/>: the stale tail, a retreat from a newer state) in one sequence beside the
/// upserts, those stored meanwhile together (<see cref="RunAsync"/>); the other modality's collection forgets them, a
/// running backfill hears of them, and they are reported stored. A write that failed is reported here too
/// (<see cref="ReportFailure"/>).
/// </summary>
internal sealed partial class JobFinisher(
    DocumentOrdering ordering,
    IDocumentChangeObserver changes,
    QdrantOptions options,
    EmbeddingModels models,
    PipelineContext context,
    ILogger logger)
{
    /// <summary>Jobs whose last chunk is stored, waiting to be finished: at most the jobs in flight, so it needs no bound of its own.</summary>
    private readonly Channel<(string Collection, EmbeddedChunk Chunk)> _finishing =
        Channel.CreateUnbounded<(string, EmbeddedChunk)>(new UnboundedChannelOptions { SingleReader = true });

    private JobLifecycle Lifecycle => context.Lifecycle;

    /// <summary>The last chunk of <paramref name="lastChunk"/>'s job is stored in <paramref name="collection"/>: the job waits to be finished.</summary>
    public void Stored(string collection, EmbeddedChunk lastChunk) => _finishing.Writer.TryWrite((collection, lastChunk));

    /// <summary>No more jobs will be stored: <see cref="RunAsync"/> ends once it has finished those waiting.</summary>
    public void Complete() => _finishing.Writer.TryComplete();

    /// <summary>
    /// Finishes the jobs the upserters stored, one call sequence for as many as have come in meanwhile (up to
    /// <c>Qdrant:UpsertBatchSize</c> documents a collection): while one group is finished the next gathers, so a busy
    /// writer (a backfill copy's upserts of 128 points that each complete some 30 documents) spends three calls on
    /// many batches instead of on each, and a quiet one finishes each job as soon as it is stored.
    /// </summary>
    public async Task RunAsync(CancellationToken stoppingToken)
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
    /// Tells a running backfill of the collection about these documents; when that fails, the jobs are tried again
    /// (their writes are idempotent), so no live change is missing from the collection the backfill builds.
    /// </summary>
    public async Task<bool> RecordForBackfillAsync(string collection, List<DocumentJob> jobs, CancellationToken cancellationToken)
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

    /// <summary>A rejection poisons the jobs; anything else is Qdrant being unavailable, which feeds its circuit.</summary>
    public void ReportFailure(IEnumerable<DocumentJob> jobs, Exception exception)
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

    /// <summary>
    /// Where the document may hold points of the other modality: the multimodal collection for a text job, the
    /// default collection for a job with images; none when this worker embeds no images.
    /// </summary>
    private string? OtherModality(string collection) =>
        models.Multimodal is null ? null
        : string.Equals(collection, options.MultimodalCollection, StringComparison.Ordinal) ? options.Collection
        : options.MultimodalCollection;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording changed documents for the backfill of {Collection} failed; their jobs are tried again")]
    private partial void LogBackfillRecordFailed(string collection, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing to Qdrant failed")]
    private partial void LogWriteFailed(Exception exception);
}
