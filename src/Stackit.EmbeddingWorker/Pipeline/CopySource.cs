namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// What makes a job a backfill copy: where it writes (<see cref="TargetCollection"/>, while its point ids keep the
/// alias the job names), when the source wrote what it copies (<see cref="EmbeddedAt"/>, the source points' <c>embedded_at</c>: a copy never replaces or
/// deletes a point written later than that), and the stored chunk texts it embeds again (none for a document gone
/// from the source, which the copy deletes from the target), and where they came from: the source collection and each
/// chunk's <c>content_hash</c> there, so a chunk whose vector the source holds already for the target's model is not
/// embedded again; that vector itself when it was read with the text (<see cref="SourceVectors"/>, by chunk): the source
/// reader reads them exactly when the source's vectors are what the target would hold (same model and size).
/// </summary>
internal sealed record CopySource(string TargetCollection, DateTimeOffset EmbeddedAt, IReadOnlyList<string>? Chunks, string? SourceCollection = null, IReadOnlyList<string?>? SourceHashes = null, IReadOnlyList<float[]?>? SourceVectors = null)
{
    /// <summary>The source holds the vectors the target would (its vectors were read with the texts).</summary>
    public bool SharesVectors => SourceVectors is not null;

    /// <summary>Every chunk came with the source's vector and hash: the copy embeds nothing the source still holds.</summary>
    public bool CarriesEveryVector =>
        Chunks is { } chunks && SourceVectors is { } vectors && SourceHashes is { } hashes
        && vectors.Count == chunks.Count && hashes.Count == chunks.Count && vectors.All(v => v is not null) && hashes.All(h => h is not null);

    /// <summary>The source's vector of chunk <paramref name="index"/> as read with its text, if it was.</summary>
    public float[]? SourceVectorOf(int index) => SourceVectors is { } vectors && index < vectors.Count ? vectors[index] : null;
}
