using Stackit.EmbeddingWorker.Intake;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>One input to embed: a chunk of a job's text with its estimated token count.</summary>
internal sealed record DocumentChunk(DocumentJob Job, int Index, int Count, string Text, int Tokens, string ContentHash)
{
    /// <summary>A job with images is one input, embedded alone through the multimodal model.</summary>
    public bool IsMultimodal => Job.Message.Images.Count > 0;
}
