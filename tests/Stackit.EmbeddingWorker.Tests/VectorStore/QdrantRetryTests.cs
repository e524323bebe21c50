using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>The worker's Qdrant retries (<see cref="QdrantCalls.Create"/>) against the Qdrant STAND-IN.</summary>
public sealed class QdrantRetryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_failing_read_inside_a_retried_call_is_tried_MaxRetries_plus_one_times_not_that_many_squared()
    {
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var client = qdrant.CreateClient();
        var options = new QdrantOptions { Endpoint = qdrant.Endpoint, Collection = "documents", MaxRetries = 4, RetryBaseDelay = TimeSpan.FromMilliseconds(10) };
        var calls = QdrantCalls.Create(options, TimeProvider.System);
        var writer = new QdrantPointWriter(client, new CollectionProvisioner(client, options, NullLogger<CollectionProvisioner>.Instance),
            new PointFactory(options, TimeProvider.System), calls);
        var ordering = new DocumentOrdering(client, calls, new TombstoneStore(client, calls, options, TimeProvider.System));
        var job = new DocumentJob(new QueueLease("q", "m", "r", 1, "{}"u8.ToArray()), new JobMessage("doc-1", JobOperation.Upsert, "text", null, null, "documents", [], 3));
        job.Progress.Expect(1);
        await writer.UpsertAsync("documents", [new EmbeddedChunk(new DocumentChunk(job, 0, 1, "text", 1, "m", ContentHash.Of("m", "text")), [1, 0, 0, 0])], Ct);
        qdrant.Store.FailNextGets(100, StatusCode.Unavailable);

        // The retreat reads the document's tombstone inside its own retried call.
        var error = await Assert.ThrowsAsync<RpcException>(() => ordering.RetreatFromNewerAsync("documents", [("documents", new OrderedWrite("doc-1", 3L, null))], Ct));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal(options.MaxRetries + 1, qdrant.Store.Calls["Get/tombstones"]);
    }
}
