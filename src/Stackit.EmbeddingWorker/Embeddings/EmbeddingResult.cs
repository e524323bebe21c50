namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>Vectors in input order, and the tokens the server says it counted.</summary>
internal sealed record EmbeddingResult(IReadOnlyList<float[]> Vectors, int? PromptTokens);
