using Qdrant.Client;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// While a backfill of a collection runs (the alias <c>&lt;collection&gt;_next</c> exists), every document the live
/// pipeline writes or deletes there is also put on the backfill queue, so the copy ends with the live changes made
/// meanwhile. Whether a backfill runs is looked up at most every <c>Backfill:MarkerRefresh</c>.
/// </summary>
internal sealed class BackfillCapture(QdrantClient client, WorkQueues queues, BackfillOptions options, QueueOptions queue, TimeProvider time) : IDocumentChangeObserver
{
    public const string MarkerSuffix = "_next";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IReadOnlyDictionary<string, string> _targets = new Dictionary<string, string>(StringComparer.Ordinal);
    private DateTimeOffset _refreshedAt = DateTimeOffset.MinValue;

    /// <summary>Records changed documents for the backfill of <paramref name="collection"/>, if one runs.</summary>
    public async Task DocumentsChangedAsync(string collection, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken)
    {
        if (documentIds.Count == 0 || await TargetOfAsync(collection, cancellationToken).ConfigureAwait(false) is not { } target)
        {
            return;
        }
        var backfill = queues.Get(options.QueueName(queue.Name));
        foreach (var page in BackfillPage.For(collection, target, documentIds.Distinct(StringComparer.Ordinal), options.PageSize))
        {
            await backfill.SendMessageAsync(page.ToJson(), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<string?> TargetOfAsync(string collection, CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() - _refreshedAt >= options.MarkerRefresh)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (time.GetUtcNow() - _refreshedAt >= options.MarkerRefresh)
                {
                    var aliases = await client.ListAliasesAsync(cancellationToken).ConfigureAwait(false);
                    _targets = aliases
                        .Where(a => a.AliasName.EndsWith(MarkerSuffix, StringComparison.Ordinal))
                        .ToDictionary(a => a.AliasName[..^MarkerSuffix.Length], a => a.CollectionName, StringComparer.Ordinal);
                    _refreshedAt = time.GetUtcNow();
                }
            }
            finally
            {
                _gate.Release();
            }
        }
        return _targets.GetValueOrDefault(collection);
    }
}
