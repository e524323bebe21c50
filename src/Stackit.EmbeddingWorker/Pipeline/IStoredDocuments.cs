namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// The stored-state lookup, a named route from Preparation to what the vector store holds: the version guard and
/// skip-unchanged read through it, and the vector store implements it.
/// </summary>
internal interface IStoredDocuments
{
    /// <summary>Whether chunks whose content hash is stored keep their stored vector (<c>Qdrant:SkipUnchanged</c>).</summary>
    bool ReusesUnchanged { get; }

    /// <summary>
    /// The model a collection (or the one an alias names now) records for its vectors; null for one without a record
    /// or not created yet, which is written with the configured model.
    /// </summary>
    Task<CollectionEmbedding?> EmbeddingOfAsync(string collection, CancellationToken cancellationToken);

    /// <summary>What is stored of the jobs' documents; a job missing from the answer needed no read.</summary>
    Task<Dictionary<DocumentJob, StoredDocument>> ReadAsync(IReadOnlyList<DocumentJob> jobs, CancellationToken cancellationToken);

    /// <summary>
    /// The stored vectors of unchanged chunks, by chunk, from where the job writes or (<c>FromSource</c>) from a backfill
    /// copy's source; a chunk whose point is gone has none.
    /// </summary>
    Task<Dictionary<DocumentChunk, float[]>> ReadVectorsAsync(IReadOnlyList<(DocumentChunk Chunk, bool FromSource)> chunks, CancellationToken cancellationToken);
}
