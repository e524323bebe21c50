using Azure.Storage.Queues;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// Puts a backfill's documents on the backfill queue as signed pages (<see cref="BackfillPage"/>) for the replicas to
/// copy: every document of the source, counted as it goes, or the documents only the target holds.
/// </summary>
internal sealed class BackfillEnqueuer(
    QdrantClient client,
    WorkQueues queues,
    BackfillOptions options,
    QueueOptions queue,
    TimeProvider time,
    EmbeddingsOptions? embeddings,
    IEmbeddingClient? endpoint)
{
    private const uint ScrollPage = 256;

    private static readonly WithPayloadSelector DocumentIdOnly = new() { Include = new PayloadIncludeSelector { Fields = { PayloadFields.DocumentId } } };

    /// <summary>
    /// Puts every document of the source on the queue, page by page, holding one page of ids whatever the size of the
    /// collection, in the same read that counts what the copy will embed (<see cref="SourceScan"/>), and keeps that
    /// record in the target's metadata (<see cref="BackfillProgress"/>). A copy that <paramref name="reuses"/> the
    /// source's vectors embeds nothing of it: the read takes ids only, and counts no tokens.
    /// </summary>
    public async Task<(BackfillProgress Progress, string Counting)> EnqueueAllAsync(string alias, string source, string target, bool reuses, CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        var (countTokens, counting) = reuses
            ? (null, "none: every vector is copied from the source")
            : await TokenCounting.ForAsync(client, source, embeddings ?? new EmbeddingsOptions(), endpoint, embeddings is not null, cancellationToken).ConfigureAwait(false);
        long pages = 0;
        var pageSize = PageSizeOf(reuses);
        var pending = new List<string>(pageSize);
        var figures = await SourceScan.ReadAsync(client, source, countTokens, async id =>
        {
            pending.Add(id);
            if (pending.Count == pageSize)
            {
                pages += await FlushAsync(pending, alias, source, target, pageSize, cancellationToken).ConfigureAwait(false);
                pending.Clear();
            }
        }, cancellationToken).ConfigureAwait(false);
        if (pending.Count > 0)
        {
            pages += await FlushAsync(pending, alias, source, target, pageSize, cancellationToken).ConfigureAwait(false);
        }
        var progress = new BackfillProgress(startedAt, pages, figures.Documents, figures.Chunks, figures.Tokens);
        await client.UpdateCollectionAsync(target, metadata: progress.ToMetadata(), cancellationToken: cancellationToken).ConfigureAwait(false);
        return (progress, counting);
    }

    /// <summary>
    /// Puts on the queue the documents the target holds but the source does not (one retrieve by id per page of the
    /// target's first chunks), to be checked again. Returns how many.
    /// </summary>
    public async Task<long> EnqueueMissingAsync(string alias, string source, string target, CancellationToken cancellationToken)
    {
        var enqueued = 0L;
        var pending = new List<string>(options.PageSize);
        var filter = new Filter { Must = { Conditions.Match(PayloadFields.ChunkIndex, 0L) } };
        async Task FlushMissingAsync()
        {
            // Point ids derive from the alias, the same in both collections.
            var present = (await client.RetrieveAsync(source, pending.ConvertAll(id => new PointId { Uuid = PointIds.For(alias, id, 0).ToString() }),
                    DocumentIdOnly, new WithVectorsSelector { Enable = false }, cancellationToken: cancellationToken).ConfigureAwait(false))
                .Select(p => p.Payload.TryGetValue(PayloadFields.DocumentId, out var id) ? id.StringValue : null)
                .ToHashSet(StringComparer.Ordinal);
            var missing = pending.FindAll(id => !present.Contains(id));
            await FlushAsync(missing, alias, source, target, options.PageSize, cancellationToken).ConfigureAwait(false);
            enqueued += missing.Count;
            pending.Clear();
        }
        await foreach (var point in QdrantScroll.AllAsync(client, target, filter, DocumentIdOnly, ScrollPage, cancellationToken).ConfigureAwait(false))
        {
            if (point.Payload.TryGetValue(PayloadFields.DocumentId, out var id))
            {
                pending.Add(id.StringValue);
            }
            if (pending.Count == options.PageSize)
            {
                await FlushMissingAsync().ConfigureAwait(false);
            }
        }
        if (pending.Count > 0)
        {
            await FlushMissingAsync().ConfigureAwait(false);
        }
        return enqueued;
    }

    /// <summary>
    /// Documents per page: <c>Backfill:PageSize</c>, and <see cref="PageSlots.Parts"/> times as many for a copy that
    /// takes every vector from the source. Such a page embeds nothing, so a replica holds it with as many parts of a
    /// slot as it has pages' worth of documents (<see cref="PageSlots.Claim.Shrink"/>): the documents a replica holds
    /// stay the same, and the copy costs a quarter of the queue's calls (a send, a receive, a delete a page).
    /// </summary>
    internal int PageSizeOf(bool reuses) => reuses ? options.PageSize * PageSlots.Parts : options.PageSize;

    /// <summary>Sends these documents as signed pages; returns how many pages.</summary>
    private async Task<int> FlushAsync(List<string> ids, string alias, string source, string target, int pageSize, CancellationToken cancellationToken)
    {
        var pages = BackfillPage.For(alias, source, target, ids, pageSize).Select(p => PageSignature.Sign(p, options.PageKey)).ToList();
        await SendAsync(queues.Get(options.QueueName(queue.Name)), pages, cancellationToken).ConfigureAwait(false);
        return pages.Count;
    }

    private static async Task SendAsync(QueueClient backfill, IEnumerable<BackfillPage> pages, CancellationToken cancellationToken)
    {
        foreach (var page in pages)
        {
            await backfill.SendMessageAsync(page.ToJson(), cancellationToken).ConfigureAwait(false);
        }
    }
}
