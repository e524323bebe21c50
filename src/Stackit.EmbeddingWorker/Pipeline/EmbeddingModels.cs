namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// The models that embed the pipeline's inputs: <see cref="Text"/> for text chunks (<c>Embeddings:Model</c>),
/// <see cref="Multimodal"/> for a job's text and images together (<c>Embeddings:MultimodalModel</c>, optional).
/// Preparation names the model of each chunk; the stages after it read it from the chunk. The <c>dimensions</c> asked of
/// each (none: the model's own size) are recorded with the collections the worker creates.
/// </summary>
internal sealed record EmbeddingModels(string Text, string? Multimodal, int? TextDimensions = null, int? MultimodalDimensions = null);
