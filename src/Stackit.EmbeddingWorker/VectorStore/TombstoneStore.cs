using System.Collections.Concurrent;
using System.Globalization;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using static Qdrant.Client.Grpc.Conditions;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Remembers versioned deletes, so that an older upsert of a deleted document that arrives later (redelivered,
/// or from another replica) writes nothing. One point per deleted document — its id, the highest deleted version
/// and when — in a companion collection <c>&lt;collection&gt;_tombstones</c>, never in the collection that is
/// searched. Kept for <c>Qdrant:TombstoneRetention</c>; older tombstones are purged at most once an hour per
/// collection, when a new one is written.
/// </summary>
internal sealed class TombstoneStore(QdrantClient client, QdrantCalls calls, QdrantOptions options, TimeProvider time)
{
    public const string Suffix = "_tombstones";

    private static readonly TimeSpan PurgeInterval = TimeSpan.FromHours(1);
    private static readonly VectorParams Marker = new() { Size = 1, Distance = Distance.Dot };

    private readonly ConcurrentDictionary<string, DateTimeOffset> _purgedAt = new(StringComparer.Ordinal);

    public static string CollectionOf(string collection) => collection + Suffix;

    /// <summary>Records that <paramref name="documentId"/> was deleted at <paramref name="version"/>; a higher tombstone stays.</summary>
    public Task WriteAsync(string collection, string documentId, long version, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var tombstones = CollectionOf(collection);
            var point = new PointStruct { Id = IdOf(collection, documentId), Vectors = new[] { 1f } };
            point.Payload[PayloadFields.DocumentId] = documentId;
            point.Payload[PayloadFields.Version] = version;
            point.Payload[PayloadFields.DeletedAt] = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
            var request = new UpsertPoints
            {
                CollectionName = tombstones,
                Wait = true,
                Points = { point },
                UpdateFilter = new Filter { MustNot = { Range(PayloadFields.Version, new Qdrant.Client.Grpc.Range { Gt = version }) } },
            };
            try
            {
                await client.UpsertAsync(request, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (QdrantErrors.IsMissingCollection(ex))
            {
                await CreateAsync(tombstones, token).ConfigureAwait(false);
                await client.UpsertAsync(request, token).ConfigureAwait(false);
            }
            await PurgeIfDueAsync(tombstones, token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>The deleted version of each of these documents that has a tombstone.</summary>
    public Task<Dictionary<string, long>> ReadAsync(string collection, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var deleted = new Dictionary<string, long>(StringComparer.Ordinal);
            if (documentIds.Count == 0)
            {
                return deleted;
            }
            try
            {
                var points = await client.RetrieveAsync(CollectionOf(collection), documentIds.Select(id => IdOf(collection, id)).ToList(),
                    withPayload: true, withVectors: false, cancellationToken: token).ConfigureAwait(false);
                foreach (var point in points)
                {
                    if (point.Payload.TryGetValue(PayloadFields.DocumentId, out var id) && point.Payload.TryGetValue(PayloadFields.Version, out var version))
                    {
                        deleted[id.StringValue] = version.IntegerValue;
                    }
                }
            }
            catch (Exception ex) when (QdrantErrors.IsMissingCollection(ex))
            {
                // No versioned delete ever happened in this collection.
            }
            return deleted;
        }, cancellationToken);

    private static PointId IdOf(string collection, string documentId) =>
        new() { Uuid = PointIds.For(CollectionOf(collection), documentId, 0).ToString() };

    private async Task CreateAsync(string tombstones, CancellationToken cancellationToken)
    {
        try
        {
            await client.CreateCollectionAsync(tombstones, Marker, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (QdrantErrors.IsAlreadyExists(ex))
        {
            // Another replica created it first.
        }
        // The hourly purge filters on it.
        await client.CreatePayloadIndexAsync(tombstones, PayloadFields.DeletedAt, PayloadSchemaType.Datetime, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task PurgeIfDueAsync(string tombstones, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_purgedAt.TryGetValue(tombstones, out var last) && now - last < PurgeInterval)
        {
            return;
        }
        _purgedAt[tombstones] = now;
        var expired = new Filter { Must = { DatetimeRange(PayloadFields.DeletedAt, lt: (now - options.TombstoneRetention).UtcDateTime) } };
        await client.DeleteAsync(tombstones, expired, wait: true, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
