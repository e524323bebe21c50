namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>A successful status with a body that does not fit the request (missing or misplaced vectors).</summary>
internal sealed class EmbeddingResponseException(string message) : Exception(message);
