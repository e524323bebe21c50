using System.Threading.Channels;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Tests.Batching;

namespace Stackit.EmbeddingWorker.Tests.Pipeline;

/// <summary>
/// The copy lane: backfill copies are chunked into a lane of their own (<see cref="ChunkLanes"/>), and the request loops
/// take a live batch before any copy batch (<see cref="BatchLanes"/>). Before, live chunks queued behind a page's worth
/// of copy chunks in one channel, and behind every loop holding a copy batch that waited for its model's budget (live
/// documents waited about 60 s beside eight pages of an embedding migration).
/// </summary>
public sealed class LanesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Preparation_writes_a_copy_chunk_to_the_copy_lane_and_a_live_chunk_to_the_live_lane_and_completing_completes_both()
    {
        var live = Channel.CreateUnbounded<DocumentChunk>();
        var copies = Channel.CreateUnbounded<DocumentChunk>();
        var lanes = new ChunkLanes(live.Writer, copies.Writer);

        await lanes.WriteAsync(Copy("copied"), Ct);
        await lanes.WriteAsync(ChunkFactory.Chunk(10, "live"), Ct);
        Assert.True(lanes.TryWrite(Copy("copied too")));
        lanes.TryComplete();

        Assert.Equal(["live"], await Ids(live.Reader));
        Assert.Equal(["copied", "copied too"], await Ids(copies.Reader));
    }

    [Fact]
    public async Task A_loop_takes_a_waiting_live_batch_before_copy_batches_queued_earlier_and_ends_when_both_lanes_are_done()
    {
        var live = Channel.CreateUnbounded<EmbeddingBatch>();
        var copies = Channel.CreateUnbounded<EmbeddingBatch>();
        var lanes = new BatchLanes(live.Reader, copies.Reader);
        for (var i = 0; i < 3; i++)
        {
            await copies.Writer.WriteAsync(Batch(Copy($"copy-{i}")), Ct);
        }
        await live.Writer.WriteAsync(Batch(ChunkFactory.Chunk(10, "live")), Ct);

        Assert.Equal("live", (await lanes.ReadAsync(Ct))!.Chunks[0].Job.Message.Id);
        Assert.Equal("copy-0", (await lanes.ReadAsync(Ct))!.Chunks[0].Job.Message.Id);

        // Waiting on both: whichever lane gets a batch first.
        var next = lanes.ReadAsync(Ct);
        await copies.Writer.WriteAsync(Batch(Copy("copy-3")), Ct);
        Assert.Equal("copy-1", (await next)!.Chunks[0].Job.Message.Id);
        live.Writer.TryComplete();
        Assert.Equal("copy-2", (await lanes.ReadAsync(Ct))!.Chunks[0].Job.Message.Id);
        Assert.Equal("copy-3", (await lanes.ReadAsync(Ct))!.Chunks[0].Job.Message.Id);
        var last = lanes.ReadAsync(Ct);
        Assert.False(last.IsCompleted);
        copies.Writer.TryComplete();
        Assert.Null(await last);
    }

    [Fact]
    public async Task The_loop_kept_for_live_work_never_takes_a_copy_batch()
    {
        var live = Channel.CreateUnbounded<EmbeddingBatch>();
        var copies = Channel.CreateUnbounded<EmbeddingBatch>();
        var liveOnly = new BatchLanes(live.Reader, null);
        await copies.Writer.WriteAsync(Batch(Copy("copy")), Ct);

        var next = liveOnly.ReadAsync(Ct);
        await Task.Delay(50, Ct);
        Assert.False(next.IsCompleted);
        await live.Writer.WriteAsync(Batch(ChunkFactory.Chunk(10, "live")), Ct);

        Assert.Equal("live", (await next)!.Chunks[0].Job.Message.Id);
        live.Writer.TryComplete();
        Assert.Null(await liveOnly.ReadAsync(Ct));
        Assert.Equal(1, copies.Reader.Count);
    }

    private static DocumentChunk Copy(string id)
    {
        var message = new JobMessage(id, JobOperation.Upsert, null, null, null, "documents", [], null);
        var job = new DocumentJob(new QueueLease("backfill", "m-" + id, "pop", 1, ReadOnlyMemory<byte>.Empty), message, 0,
            new CopySource("documents_v2", DateTimeOffset.UnixEpoch, ["copied text"]));
        return new DocumentChunk(job, 0, 1, "copied text", 10, ChunkFactory.Model, "hash");
    }

    private static EmbeddingBatch Batch(DocumentChunk chunk) => new([chunk]);

    private static async Task<List<string>> Ids(ChannelReader<DocumentChunk> reader)
    {
        var ids = new List<string>();
        await foreach (var chunk in reader.ReadAllAsync(Ct))
        {
            ids.Add(chunk.Job.Message.Id);
        }
        return ids;
    }
}
