namespace Stackit.EmbeddingWorker.Pipeline;

// What travels on the named routes beside the straight path (PipelineChannels). Each route carries its own record,
// so a stage wired to the wrong route does not compile.

/// <summary>A delete on its way from Preparation straight to the vector store: it needs no embedding.</summary>
internal readonly record struct Deletion(DocumentJob Job);

/// <summary>A job on its way back from Embeddings to Preparation, to be chunked smaller: the model refused a chunk as too long.</summary>
internal readonly record struct Rechunk(DocumentJob Job);

/// <summary>A job whose document's turn has come: it waited in the sequencer for an earlier job of its document.</summary>
internal readonly record struct Resumption(DocumentJob Job);

/// <summary>A job rejected after some of its chunks were stored: the vector store removes what it wrote.</summary>
internal readonly record struct Withdrawal(DocumentJob Job);
