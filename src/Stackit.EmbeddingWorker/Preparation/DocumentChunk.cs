using Stackit.EmbeddingWorker.Intake;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>One input to embed: a chunk of a job's text with its estimated token count.</summary>
internal sealed record DocumentChunk(DocumentJob Job, int Index, int Count, string Text, int Tokens, string ContentHash);
