using System.Collections.Concurrent;
using System.Globalization;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using static Qdrant.Client.Grpc.Conditions;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Remembers deletes, so that an older write of a deleted document that arrives later (redelivered, from another
/// replica, or a backfill copy of an older state) leaves nothing behind. Up to two points per deleted document in a
/// companion collection <c>&lt;collection&gt;_tombstones</c>, never in the collection that is searched: the highest
/// deleted version and when (versioned deletes only), and when the document was last deleted at all (every delete).
/// Kept for <c>Qdrant:TombstoneRetention</c>; older tombstones are purged at most once an hour per collection, when
/// a new one is written.
/// </summary>
internal sealed class TombstoneStore(QdrantClient client, QdrantCalls calls, QdrantOptions options, TimeProvider time)
{
    public const string Suffix = "_tombstones";

    private const int VersionPoint = 0;
    private const int LastDeletePoint = 1;

    private static readonly TimeSpan PurgeInterval = TimeSpan.FromHours(1);
    private static readonly VectorParams Marker = new() { Size = 1, Distance = Distance.Dot };

    private readonly ConcurrentDictionary<string, DateTimeOffset> _purgedAt = new(StringComparer.Ordinal);

    public static string CollectionOf(string collection) => collection + Suffix;

    /// <summary>
    /// Records that <paramref name="documentId"/> was deleted at <paramref name="deletedAt"/> (when the delete job was
    /// received), at <paramref name="version"/> when the delete carries one; a higher deleted version stays.
    /// </summary>
    public Task WriteAsync(string collection, string documentId, long? version, DateTimeOffset deletedAt, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var tombstones = CollectionOf(collection);
            var now = deletedAt.ToString("O", CultureInfo.InvariantCulture);
            var request = new UpsertPoints { CollectionName = tombstones, Wait = true };
            if (version is { } v)
            {
                var versioned = Point(collection, documentId, VersionPoint, now);
                versioned.Payload[PayloadFields.Version] = v;
                request.Points.Add(versioned);
                // The last-delete point holds no version, so the guard never holds it back.
                request.UpdateFilter = new Filter { MustNot = { Range(PayloadFields.Version, new Qdrant.Client.Grpc.Range { Gt = v }) } };
            }
            request.Points.Add(Point(collection, documentId, LastDeletePoint, now));
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

    /// <summary>The tombstone of each of these documents that has one (a call of its own, retried).</summary>
    public Task<Dictionary<string, Tombstone>> ReadAsync(string collection, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken) =>
        calls.RunAsync(token => ReadOnceAsync(collection, documentIds, token), cancellationToken);

    /// <summary>
    /// The same read, not retried: for a caller that reads tombstones inside a call it retries itself, so that a failing
    /// read is tried <c>Qdrant:MaxRetries</c> + 1 times in all, not that many times over again.
    /// </summary>
    public async Task<Dictionary<string, Tombstone>> ReadOnceAsync(string collection, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken)
    {
        var deleted = new Dictionary<string, Tombstone>(StringComparer.Ordinal);
        if (documentIds.Count == 0)
        {
            return deleted;
        }
        try
        {
            var ids = documentIds.SelectMany(id => new[] { IdOf(collection, id, VersionPoint), IdOf(collection, id, LastDeletePoint) }).ToList();
            var points = await client.RetrieveAsync(CollectionOf(collection), ids, withPayload: true, withVectors: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var point in points)
            {
                if (!point.Payload.TryGetValue(PayloadFields.DocumentId, out var id))
                {
                    continue;
                }
                var tombstone = deleted.GetValueOrDefault(id.StringValue) ?? new Tombstone(null, null);
                if (point.Payload.TryGetValue(PayloadFields.Version, out var version))
                {
                    tombstone = tombstone with { Version = version.IntegerValue };
                }
                else if (PayloadValues.Time(point.Payload, PayloadFields.DeletedAt) is { } deletedAt)
                {
                    tombstone = tombstone with { LastDeletedAt = deletedAt };
                }
                deleted[id.StringValue] = tombstone;
            }
        }
        catch (Exception ex) when (QdrantErrors.IsMissingCollection(ex))
        {
            // No delete ever happened in this collection.
        }
        return deleted;
    }

    private static PointStruct Point(string collection, string documentId, int slot, string deletedAt)
    {
        var point = new PointStruct { Id = IdOf(collection, documentId, slot), Vectors = new[] { 1f } };
        point.Payload[PayloadFields.DocumentId] = documentId;
        point.Payload[PayloadFields.DeletedAt] = deletedAt;
        return point;
    }

    private static PointId IdOf(string collection, string documentId, int slot) =>
        new() { Uuid = PointIds.For(CollectionOf(collection), documentId, slot).ToString() };

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
