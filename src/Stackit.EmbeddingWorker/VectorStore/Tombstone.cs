namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// What is remembered of a deleted document: the highest version a versioned delete removed, and when it was last
/// deleted (null for a tombstone written before every delete was recorded).
/// </summary>
internal sealed record Tombstone(long? Version, DateTimeOffset? LastDeletedAt);
