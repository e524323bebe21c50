using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Reads a backfill's source: the stored points of some documents as they are now, with their vectors when the target
/// would hold the same (<see cref="SharedVectors"/>, and <c>Qdrant:SkipUnchanged</c> on): each vector then comes from
/// the read that gave its text and hash, and the copy needs no second read. A source that no longer exists
/// (the old collection deleted while pages for it were still queued) is refused: its changes cannot be copied.
/// </summary>
internal sealed class BackfillSourceReader(QdrantPointReader reader, SharedVectors shared, QdrantOptions options, TimeProvider time) : IBackfillSource
{
    public async Task<SourceRead> ReadAsync(string collection, string target, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken)
    {
        var readAt = time.GetUtcNow();
        List<RetrievedPoint> points;
        var shared = options.SkipUnchanged ? await SharedModelAsync(collection, target, cancellationToken).ConfigureAwait(false) : null;
        var withVectors = shared is not null;
        try
        {
            points = await reader.ReadPointsAsync(collection, documentIds, null, cancellationToken, shared?.VectorSize).ConfigureAwait(false);
        }
        catch (Exception ex) when (QdrantErrors.IsMissingCollection(ex))
        {
            return new SourceRead([], readAt, $"the source collection '{collection}' does not exist (deleted after the backfill switched?), so these documents cannot be copied from it.");
        }
        var documents = new List<SourceDocument>();
        foreach (var document in points.GroupBy(p => p.Payload[PayloadFields.DocumentId].StringValue, StringComparer.Ordinal))
        {
            var chunks = document.OrderBy(p => p.Payload[PayloadFields.ChunkIndex].IntegerValue).ToList();
            if (chunks.Find(p => !p.Payload.TryGetValue(PayloadFields.Text, out var text) || text.KindCase != Value.KindOneofCase.StringValue) is { } bare)
            {
                return new SourceRead([], readAt, $"point {bare.Id.Uuid} of document '{document.Key}' in '{collection}' holds no text to embed again (was Qdrant:StoreText off?).");
            }
            var first = chunks[0].Payload;
            documents.Add(new SourceDocument(
                document.Key,
                chunks.ConvertAll(p => p.Payload[PayloadFields.Text].StringValue),
                first.TryGetValue(PayloadFields.Title, out var title) && title.KindCase == Value.KindOneofCase.StringValue ? title.StringValue : null,
                first.TryGetValue(PayloadFields.Metadata, out var metadata) ? PayloadValues.ToJson(metadata) : null,
                first.TryGetValue(PayloadFields.Version, out var version) && version.KindCase == Value.KindOneofCase.IntegerValue ? version.IntegerValue : null,
                chunks.Max(EmbeddedAt),
                chunks.ConvertAll(p => p.Payload.TryGetValue(PayloadFields.ContentHash, out var hash) && hash.KindCase == Value.KindOneofCase.StringValue ? hash.StringValue : null),
                PayloadValues.Strings(first, PayloadFields.Images),
                withVectors ? chunks.ConvertAll(QdrantPointReader.VectorOf) : null));
        }
        return new SourceRead(documents, readAt);
    }

    /// <summary>A source or target that is gone shares nothing: the read then says what is missing, or the write does.</summary>
    private async Task<CollectionModel?> SharedModelAsync(string source, string target, CancellationToken cancellationToken)
    {
        try
        {
            return await shared.BetweenAsync(source, target, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (QdrantErrors.IsMissingCollection(ex))
        {
            return null;
        }
    }

    private static DateTimeOffset EmbeddedAt(RetrievedPoint point) => PayloadValues.Time(point.Payload, PayloadFields.EmbeddedAt) ?? DateTimeOffset.MinValue;
}
