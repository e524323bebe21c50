namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>A chunk with its vector, ready to store.</summary>
internal sealed record EmbeddedChunk(DocumentChunk Chunk, float[] Vector)
{
    /// <summary>The model that made <see cref="Vector"/>.</summary>
    public string Model => Chunk.Model;
}
