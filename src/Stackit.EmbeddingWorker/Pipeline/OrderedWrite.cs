namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// One job's write of a document as the ordering rule judges it (docs/qdrant.md, Order): the document, its
/// <c>version</c> when it has one, and else its ordering time — when a replica took the job in, or for a backfill copy
/// when the source wrote what it copies. The newer write wins: the higher version, or without versions the later
/// ordering time. Stored as the points' <c>version</c> and <c>embedded_at</c>.
/// </summary>
internal readonly record struct OrderedWrite(string DocumentId, long? Version, DateTimeOffset? OrderedAt)
{
    /// <summary>Whether the write is ordered at all: a job with neither a version nor an ordering time replaces anything.</summary>
    public bool IsOrdered => Version is not null || OrderedAt is not null;
}
