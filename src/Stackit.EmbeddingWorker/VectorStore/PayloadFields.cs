namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>The payload keys of a point: a contract with everyone who searches the collection.</summary>
internal static class PayloadFields
{
    public const string DocumentId = "doc_id";
    public const string ChunkIndex = "chunk_index";
    public const string ChunkCount = "chunk_count";
    public const string Text = "text";
    public const string Title = "title";
    public const string Metadata = "metadata";
    public const string ContentHash = "content_hash";
    public const string Model = "model";
    public const string Version = "version";
    public const string EmbeddedAt = "embedded_at";

    /// <summary>A multimodal point's images (data URIs), with <c>Qdrant:StoreImages</c>.</summary>
    public const string Images = "images";

    /// <summary>On a tombstone: when the document was deleted.</summary>
    public const string DeletedAt = "deleted_at";
}
