namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>What Qdrant holds of one document: its highest version and each chunk's content hash.</summary>
/// <remarks>
/// For a backfill copy, <see cref="SourceHashes"/> are the chunk hashes of the source collection where its vectors can
/// stand in for the target's (same model, same size): a chunk found there is taken from the source, not embedded.
/// </remarks>
internal sealed record StoredDocument(long? Version, IReadOnlyDictionary<int, string> ContentHashes, IReadOnlyDictionary<int, string>? SourceHashes = null)
{
    public static readonly StoredDocument None = new(null, new Dictionary<int, string>());

    /// <summary>True when a job at <paramref name="version"/> would replace a newer version: it must not.</summary>
    public bool IsNewerThan(long? version) => version is { } v && Version is { } stored && stored > v;

    /// <summary>True when chunk <paramref name="index"/> is stored with the same model and text.</summary>
    public bool Holds(int index, string contentHash) =>
        (ContentHashes.TryGetValue(index, out var stored) && string.Equals(stored, contentHash, StringComparison.Ordinal)) || HeldBySource(index, contentHash);

    /// <summary>True when chunk <paramref name="index"/> is not held where the job writes, but its source holds it.</summary>
    public bool HeldBySource(int index, string contentHash) =>
        !(ContentHashes.TryGetValue(index, out var own) && string.Equals(own, contentHash, StringComparison.Ordinal))
        && SourceHashes is not null && SourceHashes.TryGetValue(index, out var source) && string.Equals(source, contentHash, StringComparison.Ordinal);
}
