using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Batching;

/// <summary>
/// Packs chunks into batches cut at whichever limit comes first: inputs per request or estimated tokens per
/// request. A batch that has reached a limit is handed out at once; a partial one waits for <see cref="Flush"/>.
/// A multimodal input is a batch of its own.
/// Not thread-safe: one batching loop owns it.
/// </summary>
internal sealed class TokenBudgetBatcher(BatchingOptions options)
{
    private List<DocumentChunk> _pending = [];
    private int _pendingTokens;

    public int Count => _pending.Count;

    /// <summary>Adds a chunk; returns the batches that are complete because of it (zero, one or two).</summary>
    public IReadOnlyList<EmbeddingBatch> Add(DocumentChunk chunk)
    {
        if (chunk.IsMultimodal)
        {
            // One request per multimodal job, and the pending text batch waits on: it may still fill.
            return [new EmbeddingBatch([chunk])];
        }
        List<EmbeddingBatch>? complete = null;
        // One request asks one model (and one size): a chunk for another collection's model starts a batch of its own.
        if (_pending.Count > 0 && (_pendingTokens + chunk.Tokens > options.MaxTokensPerRequest
            || !string.Equals(_pending[0].Model, chunk.Model, StringComparison.Ordinal) || _pending[0].Dimensions != chunk.Dimensions))
        {
            (complete ??= []).Add(TakePending());
        }

        _pending.Add(chunk);
        _pendingTokens += chunk.Tokens;
        if (_pending.Count >= options.MaxInputsPerRequest || _pendingTokens >= options.MaxTokensPerRequest)
        {
            (complete ??= []).Add(TakePending());
        }
        return complete ?? (IReadOnlyList<EmbeddingBatch>)[];
    }

    /// <summary>Hands out the partial batch, if any.</summary>
    public EmbeddingBatch? Flush() => _pending.Count == 0 ? null : TakePending();

    private EmbeddingBatch TakePending()
    {
        var batch = new EmbeddingBatch(_pending);
        _pending = [];
        _pendingTokens = 0;
        return batch;
    }
}
