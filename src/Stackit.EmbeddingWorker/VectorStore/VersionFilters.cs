using Qdrant.Client.Grpc;
using static Qdrant.Client.Grpc.Conditions;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// The filters that keep an older <c>version</c> of a document from overwriting or deleting a newer one, applied
/// by Qdrant itself in the same request as the write (an upsert's <c>update_filter</c>, a delete's filter), so
/// two replicas racing with two versions of one document cannot undo each other. A point without a version,
/// and a job without one, are never held back.
/// </summary>
internal static class VersionFilters
{
    /// <summary>The points of <paramref name="documentId"/> that a job at <paramref name="version"/> may replace.</summary>
    /// <remarks>
    /// A backfill copy also passes <paramref name="writtenAt"/>, when the source wrote what it copies: points written
    /// later than that (by the live pipeline, or a copy of a later write) are not its to replace.
    /// </remarks>
    public static Filter Replaceable(string documentId, long? version, DateTimeOffset? writtenAt = null)
    {
        var filter = new Filter { Must = { MatchKeyword(PayloadFields.DocumentId, documentId) } };
        if (version is { } v)
        {
            filter.MustNot.Add(Range(PayloadFields.Version, new Qdrant.Client.Grpc.Range { Gt = v }));
        }
        if (writtenAt is { } at)
        {
            filter.MustNot.Add(DatetimeRange(PayloadFields.EmbeddedAt, gt: at.UtcDateTime));
        }
        return filter;
    }

    /// <summary>The points of <paramref name="documentId"/> written by a version older than <paramref name="version"/>.</summary>
    public static Filter Older(string documentId, long version) => new()
    {
        Must =
        {
            MatchKeyword(PayloadFields.DocumentId, documentId),
            Range(PayloadFields.Version, new Qdrant.Client.Grpc.Range { Lt = version }),
        },
    };

    /// <summary>
    /// The <c>update_filter</c> of an upsert of these documents' points, or null when no job carries a version or a copy time.
    /// A point id belongs to one document, so each existing point is judged by its own document's version.
    /// </summary>
    public static Filter? UpdateFilter(IEnumerable<(string DocumentId, long? Version, DateTimeOffset? WrittenAt)> documents)
    {
        var distinct = documents.Distinct().ToList();
        if (distinct.TrueForAll(d => d.Version is null && d.WrittenAt is null))
        {
            return null;
        }
        var filter = new Filter();
        foreach (var (documentId, version, writtenAt) in distinct)
        {
            filter.Should.Add(new Condition { Filter = Replaceable(documentId, version, writtenAt) });
        }
        return filter;
    }
}
