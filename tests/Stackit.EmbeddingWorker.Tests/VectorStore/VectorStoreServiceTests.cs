using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>The vector store stage against the Qdrant STAND-IN: what one refused point does to the jobs beside it.</summary>
public sealed class VectorStoreServiceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_job_Qdrant_refuses_is_rejected_alone_and_the_jobs_in_its_upsert_batch_are_stored()
    {
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var client = qdrant.CreateClient();
        var options = new QdrantOptions { Endpoint = qdrant.Endpoint, Collection = "documents", UpsertBatchSize = 64 };
        var calls = new QdrantCalls(ResiliencePipeline.Empty);
        var writer = new QdrantPointWriter(client, new CollectionProvisioner(client, options, NullLogger<CollectionProvisioner>.Instance),
            new PointFactory(options, TimeProvider.System), calls);
        var ordering = new DocumentOrdering(client, calls, new TombstoneStore(client, calls, options, TimeProvider.System));
        await writer.UpsertAsync("documents", [Chunk("seed", [1, 2, 3, 4])], Ct);

        var embedded = Channel.CreateUnbounded<EmbeddedChunk>();
        var deletions = Channel.CreateUnbounded<Deletion>();
        var outcomes = Channel.CreateUnbounded<JobOutcome>();
        // Three jobs in one batch; the middle one's vector has the wrong dimension, which Qdrant refuses.
        foreach (var chunk in new[] { Chunk("a", [1, 0, 0, 0]), Chunk("b", [1, 0]), Chunk("c", [0, 1, 0, 0]) })
        {
            embedded.Writer.TryWrite(chunk);
        }
        embedded.Writer.TryComplete();
        deletions.Writer.TryComplete();
        var models = new EmbeddingModels("test/model", null);
        var context = TestPipeline.Context(lifecycle: new JobLifecycle(outcomes.Writer));
        using var service = new VectorStoreService(embedded.Reader, deletions.Reader, Channel.CreateUnbounded<Withdrawal>().Reader, writer, ordering,
            new JobFinisher(ordering, new NoObserver(), options, models, context, NullLogger<VectorStoreService>.Instance), options, models, context, NullLogger<VectorStoreService>.Instance);

        await service.StartAsync(Ct);
        var reported = await outcomes.Reader.ReadAllAsync(Ct).ToListAsync(Ct);
        await service.StopAsync(Ct);

        Assert.Equal(OutcomeKind.Stored, reported.Single(o => o.DocumentId == "a").Kind);
        Assert.Equal(OutcomeKind.Stored, reported.Single(o => o.DocumentId == "c").Kind);
        var refused = reported.Single(o => o.DocumentId == "b");
        Assert.Equal(OutcomeKind.Rejected, refused.Kind);
        Assert.Contains("dimension", refused.Reason, StringComparison.OrdinalIgnoreCase);
    }

    private static EmbeddedChunk Chunk(string documentId, float[] vector)
    {
        var job = new DocumentJob(new QueueLease("q", documentId, "p", 1, ReadOnlyMemory<byte>.Empty),
            new JobMessage(documentId, JobOperation.Upsert, "text", null, null, "documents", [], null));
        job.Progress.Expect(1);
        return new EmbeddedChunk(new DocumentChunk(job, 0, 1, "text", 1, "test/model", ContentHash.Of("test/model", "text")), vector);
    }

    private sealed class NoObserver : IDocumentChangeObserver
    {
        public Task DocumentsChangedAsync(string collection, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
