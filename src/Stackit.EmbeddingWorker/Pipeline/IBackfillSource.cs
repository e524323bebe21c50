using System.Text.Json;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// The backfill's named route to what a source collection holds now: each document's stored chunks with
/// what the point contract keeps of the job (title, metadata, version) and when the source wrote them, and their
/// vectors too when the source's vectors are what <c>target</c> would hold. The vector store implements it.
/// </summary>
internal interface IBackfillSource
{
    Task<SourceRead> ReadAsync(string collection, string target, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken);
}

/// <summary>
/// One stored document: its chunk texts in chunk order, and when the source last wrote any of them (the latest
/// <c>embedded_at</c>); each chunk's hash, and its vector where the copy may take it (read with its text, in one read).
/// </summary>
internal sealed record SourceDocument(string Id, IReadOnlyList<string> Chunks, string? Title, JsonElement? Metadata, long? Version, DateTimeOffset EmbeddedAt, IReadOnlyList<string?>? Hashes = null, IReadOnlyList<string>? Images = null, IReadOnlyList<float[]?>? Vectors = null);

/// <summary>
/// What a read found, and when it read: a document asked for and not found is gone from the source. A read that can
/// never be copied (a point without text) says why in <see cref="Refusal"/>.
/// </summary>
internal sealed record SourceRead(IReadOnlyList<SourceDocument> Documents, DateTimeOffset ReadAt, string? Refusal = null);
