namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// The stored-state lookup, a named route from Preparation to what the vector store holds: the version guard and
/// skip-unchanged read through it, and the vector store implements it.
/// </summary>
internal interface IStoredDocuments
{
    /// <summary>Whether chunks whose content hash is stored keep their stored vector (<c>Qdrant:SkipUnchanged</c>).</summary>
    bool ReusesUnchanged { get; }

    /// <summary>What is stored of the jobs' documents; a job missing from the answer needed no read.</summary>
    Task<Dictionary<DocumentJob, StoredDocument>> ReadAsync(IReadOnlyList<DocumentJob> jobs, CancellationToken cancellationToken);

    /// <summary>The stored vectors of unchanged chunks, by chunk; a chunk whose point is gone has none.</summary>
    Task<Dictionary<DocumentChunk, float[]>> ReadVectorsAsync(IReadOnlyList<DocumentChunk> chunks, CancellationToken cancellationToken);
}
