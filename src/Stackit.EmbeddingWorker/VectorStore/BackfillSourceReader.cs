using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Reads a backfill's source: the stored points of some documents as they are now. A source that no longer exists
/// (the old collection deleted while pages for it were still queued) is refused: its changes cannot be copied.
/// </summary>
internal sealed class BackfillSourceReader(QdrantPointReader reader, TimeProvider time) : IBackfillSource
{
    public async Task<SourceRead> ReadAsync(string collection, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken)
    {
        var readAt = time.GetUtcNow();
        List<RetrievedPoint> points;
        try
        {
            points = await reader.ReadPointsAsync(collection, documentIds, null, cancellationToken).ConfigureAwait(false);
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
                PayloadValues.Strings(first, PayloadFields.Images)));
        }
        return new SourceRead(documents, readAt);
    }

    private static DateTimeOffset EmbeddedAt(RetrievedPoint point) => PayloadValues.Time(point.Payload, PayloadFields.EmbeddedAt) ?? DateTimeOffset.MinValue;
}
