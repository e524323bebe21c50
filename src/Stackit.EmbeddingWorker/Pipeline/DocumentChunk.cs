namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// One input to embed: a chunk of a job's text with its estimated token count, the model that embeds it (the model of
/// the collection it is written to), the <c>dimensions</c> asked for it, and the content hash of model and text.
/// </summary>
internal sealed record DocumentChunk(DocumentJob Job, int Index, int Count, string Text, int Tokens, string Model, string ContentHash, int? Dimensions = null)
{
    /// <summary>A job with images is one input, embedded alone through the multimodal model.</summary>
    public bool IsMultimodal => Job.Message.Images.Count > 0;
}
