using System.Threading.Channels;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Where Preparation writes chunks: a live job's to the live lane, a backfill copy's to the copy lane. Copy chunks come
/// a page at a time and wait for their model's budget; in one channel with live ones, a live chunk would wait behind
/// all of them before it is even batched. Completing the writer completes both lanes.
/// </summary>
internal sealed class ChunkLanes(ChannelWriter<DocumentChunk> live, ChannelWriter<DocumentChunk> copies) : ChannelWriter<DocumentChunk>
{
    public override bool TryWrite(DocumentChunk item) => LaneOf(item).TryWrite(item);

    /// <summary>Waits for room in the live lane (a writer that does not know its next chunk's lane).</summary>
    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => live.WaitToWriteAsync(cancellationToken);

    public override ValueTask WriteAsync(DocumentChunk item, CancellationToken cancellationToken = default) => LaneOf(item).WriteAsync(item, cancellationToken);

    public override bool TryComplete(Exception? error = null)
    {
        var first = live.TryComplete(error);
        return copies.TryComplete(error) && first;
    }

    private ChannelWriter<DocumentChunk> LaneOf(DocumentChunk chunk) => chunk.Job.Copy is null ? live : copies;
}
