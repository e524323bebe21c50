namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>What Qdrant holds of one document: its highest version and each chunk's content hash.</summary>
internal sealed record StoredDocument(long? Version, IReadOnlyDictionary<int, string> ContentHashes)
{
    public static readonly StoredDocument None = new(null, new Dictionary<int, string>());

    /// <summary>True when a job at <paramref name="version"/> would replace a newer version: it must not.</summary>
    public bool IsNewerThan(long? version) => version is { } v && Version is { } stored && stored > v;

    /// <summary>True when chunk <paramref name="index"/> is stored with the same model and text.</summary>
    public bool Holds(int index, string contentHash) =>
        ContentHashes.TryGetValue(index, out var stored) && string.Equals(stored, contentHash, StringComparison.Ordinal);
}
