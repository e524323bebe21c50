using Qdrant.Client;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// While a backfill of a collection runs (the alias <c>&lt;collection&gt;_next</c> exists), every document the live
/// pipeline writes or deletes there is also put on the backfill queue, so the copy ends with the live changes made
/// meanwhile. Whether a backfill runs is looked up at most every <c>Backfill:MarkerRefresh</c>. Each page names the
/// collection the alias pointed to at that lookup, so a page worked on after the switch still reads the collection
/// the change was written to (a stale lookup names the old one; the copy's guards then keep the newer state).
/// </summary>
internal sealed class BackfillCapture(QdrantClient client, WorkQueues queues, BackfillOptions options, QueueOptions queue, TimeProvider time) : IDocumentChangeObserver
{

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IReadOnlyDictionary<string, (string Source, string Target)> _backfills = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
    private DateTimeOffset _refreshedAt = DateTimeOffset.MinValue;

    /// <summary>Records changed documents for the backfill of <paramref name="collection"/>, if one runs.</summary>
    public async Task DocumentsChangedAsync(string collection, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken)
    {
        if (documentIds.Count == 0 || await BackfillOfAsync(collection, cancellationToken).ConfigureAwait(false) is not var (source, target))
        {
            return;
        }
        var backfill = queues.Get(options.QueueName(queue.Name));
        foreach (var page in BackfillPage.For(collection, source, target, documentIds.Distinct(StringComparer.Ordinal), options.PageSize).Select(p => PageSignature.Sign(p, options.PageKey)))
        {
            // A marker without its queue (removed by hand, or made by a planner that creates it later) gets one.
            await WorkQueues.SendCreatingAsync(backfill, page.ToJson(), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(string Source, string Target)?> BackfillOfAsync(string collection, CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() - _refreshedAt >= options.MarkerRefresh)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (time.GetUtcNow() - _refreshedAt >= options.MarkerRefresh)
                {
                    var aliases = (await client.ListAliasesAsync(cancellationToken).ConfigureAwait(false))
                        .ToDictionary(a => a.AliasName, a => a.CollectionName, StringComparer.Ordinal);
                    _backfills = BackfillAliases.Running(aliases);
                    _refreshedAt = time.GetUtcNow();
                }
            }
            finally
            {
                _gate.Release();
            }
        }
        return _backfills.TryGetValue(collection, out var backfill) ? backfill : null;
    }
}
