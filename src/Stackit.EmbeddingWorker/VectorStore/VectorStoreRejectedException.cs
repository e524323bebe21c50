namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>Qdrant refused the points for a reason that retrying cannot fix (wrong dimension, invalid payload).</summary>
internal sealed class VectorStoreRejectedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The collection a write was embedded for has changed under it (an alias now names a collection of another model):
/// not the job's fault; it is tried again, and embedded with the collection's model then.
/// </summary>
internal sealed class CollectionChangedException(string message) : Exception(message);
