namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>Turns texts into vectors, one per input, in input order; or text and images into one vector.</summary>
internal interface IEmbeddingClient
{
    /// <exception cref="EmbeddingRequestException">The endpoint answered with an error status after any retries.</exception>
    /// <exception cref="EmbeddingResponseException">The endpoint answered 200 with a response that does not fit the request.</exception>
    Task<EmbeddingResult> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken cancellationToken);

    /// <summary>As <see cref="EmbedAsync(IReadOnlyList{string}, CancellationToken)"/>, with this model and <c>dimensions</c> (the model of the collection written).</summary>
    Task<EmbeddingResult> EmbedAsync(string model, int? dimensions, IReadOnlyList<string> inputs, CancellationToken cancellationToken);

    /// <summary>One embedding of text and images together, with <c>Embeddings:MultimodalModel</c> (the <c>messages</c> form).</summary>
    /// <exception cref="EmbeddingRequestException">The endpoint answered with an error status after any retries.</exception>
    /// <exception cref="EmbeddingResponseException">The endpoint answered 200 with a response that does not fit the request.</exception>
    Task<EmbeddingResult> EmbedMultimodalAsync(string? text, IReadOnlyList<string> images, CancellationToken cancellationToken);
}
