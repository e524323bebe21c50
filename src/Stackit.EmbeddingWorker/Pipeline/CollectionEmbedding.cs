namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// The model a collection's vectors are made with, and the <c>dimensions</c> asked of the endpoint for it (none: the
/// model's own size), as the collection records it. Every chunk written to a collection is embedded with it, so no
/// collection holds vectors of two models, whatever model a replica is configured with.
/// </summary>
internal sealed record CollectionEmbedding(string Model, int? Dimensions);
