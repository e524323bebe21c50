using System.Globalization;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Preparation;
using Stackit.EmbeddingWorker.Transport;
using Stackit.EmbeddingWorker.VectorStore;
using static Qdrant.Client.Grpc.Conditions;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// Copies the documents of one <see cref="BackfillPage"/> from the collection the alias points to into the target,
/// re-embedding the stored chunk text with <c>Embeddings:Model</c>. Chunks the target already holds as written by
/// the same source write are left alone (a resumed run costs reads only); chunks whose text is unchanged keep the
/// target's vector. Writes are ordered by the source's <c>embedded_at</c>: a copy read before a newer change
/// never overwrites or deletes what a later copy of that change wrote. A document gone from the source is deleted
/// from the target. Requests share the live pipeline's rate budget and concurrency limit.
/// </summary>
internal sealed class BackfillCopier(
    QdrantClient client,
    QdrantPointReader reader,
    QdrantCalls calls,
    IEmbeddingClient embedder,
    EndpointAdmission admission,
    ITokenEstimator estimator,
    BatchingOptions batching,
    EmbeddingsOptions embeddings,
    WorkerMetrics metrics,
    TimeProvider time)
{
    private static readonly string[] TargetFields = [PayloadFields.DocumentId, PayloadFields.ChunkIndex, PayloadFields.ContentHash, PayloadFields.EmbeddedAt];

    public async Task<BackfillCopyResult> CopyAsync(BackfillPage page, CancellationToken cancellationToken)
    {
        var readAt = time.GetUtcNow();
        var source = await reader.ReadPointsAsync(page.Alias, page.Ids, null, cancellationToken).ConfigureAwait(false);
        var target = await reader.ReadPointsAsync(page.Target, page.Ids, TargetFields, cancellationToken).ConfigureAwait(false);
        var held = target.ToDictionary(p => p.Id.Uuid, p => p.Payload, StringComparer.Ordinal);

        var documents = source.GroupBy(p => p.Payload[PayloadFields.DocumentId].StringValue, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var toEmbed = new List<(PointStruct Point, string Text)>();
        var toReuse = new List<PointStruct>();
        var written = new List<(string DocumentId, int ChunkCount, DateTimeOffset WrittenAt)>();
        var skipped = 0;
        foreach (var (documentId, points) in documents)
        {
            var writtenAt = points.Max(WrittenAt);
            written.Add((documentId, points.Count, writtenAt));
            foreach (var point in points)
            {
                if (!point.Payload.TryGetValue(PayloadFields.Text, out var text) || text.KindCase != Value.KindOneofCase.StringValue)
                {
                    throw new BackfillRejectedException($"point {point.Id.Uuid} of document '{documentId}' in '{page.Alias}' holds no text to embed again (was Qdrant:StoreText off?).");
                }
                var hash = ContentHash.Of(embeddings.Model, text.StringValue);
                var copy = Copy(point, hash);
                held.TryGetValue(point.Id.Uuid, out var existing);
                if (existing is not null && Same(existing, PayloadFields.ContentHash, hash) && Same(existing, PayloadFields.EmbeddedAt, copy.Payload[PayloadFields.EmbeddedAt].StringValue))
                {
                    skipped++;
                }
                else if (existing is not null && Same(existing, PayloadFields.ContentHash, hash))
                {
                    toReuse.Add(copy);
                }
                else
                {
                    toEmbed.Add((copy, text.StringValue));
                }
            }
        }

        await ReuseAsync(page.Target, toReuse, toEmbed, cancellationToken).ConfigureAwait(false);
        await EmbedAsync(toEmbed, cancellationToken).ConfigureAwait(false);
        var writes = toReuse.Concat(toEmbed.Select(e => e.Point)).ToList();
        if (writes.Count > 0)
        {
            await UpsertAsync(page.Target, writes, written, cancellationToken).ConfigureAwait(false);
        }
        var gone = page.Ids.Where(id => !documents.ContainsKey(id)).Distinct(StringComparer.Ordinal).ToList();
        await DeleteAsync(page.Target, written, gone, readAt, cancellationToken).ConfigureAwait(false);
        return new BackfillCopyResult(documents.Count, toEmbed.Count, toReuse.Count, skipped, gone.Count);
    }

    private static bool Same(Google.Protobuf.Collections.MapField<string, Value> payload, string field, string value) =>
        payload.TryGetValue(field, out var stored) && stored.KindCase == Value.KindOneofCase.StringValue && string.Equals(stored.StringValue, value, StringComparison.Ordinal);

    private static DateTimeOffset WrittenAt(RetrievedPoint point) =>
        point.Payload.TryGetValue(PayloadFields.EmbeddedAt, out var value) && DateTimeOffset.TryParse(value.StringValue, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
            ? at
            : DateTimeOffset.MinValue;

    /// <summary>The target point: same id (derived from the alias name), the source's payload, this model's hash.</summary>
    private PointStruct Copy(RetrievedPoint source, string hash)
    {
        var point = new PointStruct { Id = source.Id };
        foreach (var (key, value) in source.Payload)
        {
            point.Payload[key] = value;
        }
        point.Payload[PayloadFields.ContentHash] = hash;
        point.Payload[PayloadFields.Model] = embeddings.Model;
        if (!point.Payload.ContainsKey(PayloadFields.EmbeddedAt))
        {
            point.Payload[PayloadFields.EmbeddedAt] = DateTimeOffset.MinValue.ToString("O", CultureInfo.InvariantCulture);
        }
        return point;
    }

    private async Task ReuseAsync(string target, List<PointStruct> toReuse, List<(PointStruct Point, string Text)> toEmbed, CancellationToken cancellationToken)
    {
        if (toReuse.Count == 0)
        {
            return;
        }
        var vectors = await reader.ReadVectorsAsync(target, toReuse.ConvertAll(p => Guid.Parse(p.Id.Uuid)), cancellationToken).ConfigureAwait(false);
        foreach (var point in toReuse.ToList())
        {
            if (vectors.TryGetValue(Guid.Parse(point.Id.Uuid), out var vector))
            {
                point.Vectors = VectorWrapping.Wrap(vector);
            }
            else
            {
                toReuse.Remove(point);
                toEmbed.Add((point, point.Payload[PayloadFields.Text].StringValue));
            }
        }
        metrics.Reused(toReuse.Count, 0);
    }

    /// <summary>Batches cut at the configured limits, sent concurrently within the shared budget and limit.</summary>
    private async Task EmbedAsync(List<(PointStruct Point, string Text)> inputs, CancellationToken cancellationToken)
    {
        var batches = new List<List<(PointStruct Point, string Text, int Tokens)>>();
        var current = new List<(PointStruct, string, int)>();
        var tokens = 0;
        foreach (var (point, text) in inputs)
        {
            var estimate = estimator.Estimate(text);
            if (current.Count > 0 && (current.Count >= batching.MaxInputsPerRequest || tokens + estimate > batching.MaxTokensPerRequest))
            {
                batches.Add(current);
                current = [];
                tokens = 0;
            }
            current.Add((point, text, estimate));
            tokens += estimate;
        }
        if (current.Count > 0)
        {
            batches.Add(current);
        }
        await Task.WhenAll(batches.Select(batch => EmbedBatchAsync(batch, cancellationToken))).ConfigureAwait(false);
    }

    private async Task EmbedBatchAsync(List<(PointStruct Point, string Text, int Tokens)> batch, CancellationToken cancellationToken)
    {
        var result = await admission.SendAsync(batch.Sum(b => b.Tokens), batch.Count,
            token => embedder.EmbedAsync(batch.ConvertAll(b => b.Text), token), cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Point.Vectors = VectorWrapping.Wrap(result.Vectors[i]);
        }
    }

    /// <summary>Existing target points are replaced only by a copy of a source write at least as new as theirs.</summary>
    private Task UpsertAsync(string target, List<PointStruct> points, List<(string DocumentId, int ChunkCount, DateTimeOffset WrittenAt)> written, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var guard = new Filter();
            foreach (var (documentId, _, writtenAt) in written)
            {
                guard.Should.Add(new Condition { Filter = NotNewerThan(documentId, writtenAt) });
            }
            var request = new UpsertPoints { CollectionName = target, Wait = true, UpdateFilter = guard };
            request.Points.AddRange(points);
            await client.UpsertAsync(request, token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Each copied document's stale tail, and documents gone from the source, written no later than seen.</summary>
    private Task DeleteAsync(string target, List<(string DocumentId, int ChunkCount, DateTimeOffset WrittenAt)> written, List<string> gone, DateTimeOffset readAt, CancellationToken cancellationToken)
    {
        var filter = new Filter();
        foreach (var (documentId, chunkCount, writtenAt) in written)
        {
            var tail = NotNewerThan(documentId, writtenAt);
            tail.Must.Add(Range(PayloadFields.ChunkIndex, new Qdrant.Client.Grpc.Range { Gte = chunkCount }));
            filter.Should.Add(new Condition { Filter = tail });
        }
        foreach (var documentId in gone)
        {
            filter.Should.Add(new Condition { Filter = NotNewerThan(documentId, readAt) });
        }
        return filter.Should.Count == 0
            ? Task.CompletedTask
            : calls.RunAsync(token => client.DeleteAsync(target, filter, wait: true, cancellationToken: token), cancellationToken);
    }

    private static Filter NotNewerThan(string documentId, DateTimeOffset writtenAt) => new()
    {
        Must = { MatchKeyword(PayloadFields.DocumentId, documentId) },
        MustNot = { DatetimeRange(PayloadFields.EmbeddedAt, gt: writtenAt.UtcDateTime) },
    };
}

/// <summary>What one page did: documents copied, chunks embedded, reused, already there; documents deleted.</summary>
internal readonly record struct BackfillCopyResult(int Documents, int Embedded, int Reused, int AlreadyCopied, int Deleted);

/// <summary>A page that can never be copied as it is (a message of the wrong shape, a source without text).</summary>
internal sealed class BackfillRejectedException(string message) : Exception(message);
