namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>Qdrant refused the points for a reason that retrying cannot fix (wrong dimension, invalid payload).</summary>
internal sealed class VectorStoreRejectedException(string message, Exception? inner = null) : Exception(message, inner);
