using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;
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
    /// <summary>The points of a document that <paramref name="write"/> may replace or delete.</summary>
    /// <remarks>
    /// Points of a higher version stay; with an ordering time (an unversioned job, a backfill copy), so do points
    /// written later than it (by a job taken in later, or a copy of a later write).
    /// </remarks>
    public static Filter Replaceable(OrderedWrite write)
    {
        var filter = new Filter { Must = { MatchKeyword(PayloadFields.DocumentId, write.DocumentId) } };
        if (write.Version is { } v)
        {
            filter.MustNot.Add(Range(PayloadFields.Version, new Qdrant.Client.Grpc.Range { Gt = v }));
        }
        if (write.OrderedAt is { } at)
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
    public static Filter? UpdateFilter(IEnumerable<OrderedWrite> writes)
    {
        var distinct = writes.Distinct().ToList();
        if (!distinct.Exists(w => w.IsOrdered))
        {
            return null;
        }
        var filter = new Filter();
        foreach (var write in distinct)
        {
            filter.Should.Add(new Condition { Filter = Replaceable(write) });
        }
        return filter;
    }
}
