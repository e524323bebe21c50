namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>Turns texts into vectors, one per input, in input order.</summary>
internal interface IEmbeddingClient
{
    /// <exception cref="EmbeddingRequestException">The endpoint answered with an error status after any retries.</exception>
    /// <exception cref="EmbeddingResponseException">The endpoint answered 200 with a response that does not fit the request.</exception>
    Task<EmbeddingResult> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken cancellationToken);
}
