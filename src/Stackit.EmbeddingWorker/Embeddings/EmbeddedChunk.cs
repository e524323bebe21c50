using Stackit.EmbeddingWorker.Preparation;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>A chunk with its vector, ready to store.</summary>
internal sealed record EmbeddedChunk(DocumentChunk Chunk, float[] Vector, string Model);
