namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>How vectors travel in the response (<c>Embeddings:Encoding</c>).</summary>
public enum EmbeddingEncoding
{
    /// <summary>Little-endian float32 bytes in base64: a third of the size of decimal text, and cheap to decode.</summary>
    Base64,

    /// <summary>A JSON array of numbers; every OpenAI-compatible server speaks it.</summary>
    Float,
}
