using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// Three worker processes started together (a rollout, a scale from zero) on one queue and one project budget, against
/// a loopback endpoint that counts its token limit over a strict sliding 60 s window — what a rate limiter may do that
/// forgives no burst. The fleet shares the budget through the ledger in Azurite's blobs; the Qdrant STAND-IN stores.
/// </summary>
[Collection(nameof(WorkerProcessesCollection))]
public sealed class SlidingWindowFleetEndToEndTests(AzuriteFixture azurite)
{
    private const string Collection = "documents";
    private const int TokensPerMinute = 30_000;
    private const int Jobs = 400;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Three_replicas_started_together_stay_under_a_strict_sliding_minute_and_store_every_job_with_the_Qdrant_stand_in()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.SlidingWindowTokensPerMinute = TokensPerMinute;
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("window");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        // About 80 tokens each as the endpoint counts them: 32,000 tokens, more than a minute of the budget.
        var jobs = Enumerable.Range(0, Jobs)
            .Select(i => $$"""{"id":"doc-{{i}}","text":"Document {{i}}: {{string.Join(' ', Enumerable.Repeat($"valve {i % 13} pressure checked", 10))}}"}""")
            .ToList();
        await Parallel.ForEachAsync(jobs, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Ct },
            async (job, ct) => await queue.SendMessageAsync(job, ct));

        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Blobs:Container"] = AzuriteFixture.UniqueQueueName("ledger");
        settings["Embeddings:TokensPerMinute"] = TokensPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Logging:LogLevel:Default"] = "Warning";
        var replicas = Enumerable.Range(0, 3).Select(_ => WorkerProcess.Start(settings)).ToList();
        try
        {
            await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(240), Ct);

            Assert.Equal(0, await QueueAssertions.CountAsync(azurite.Queue(queueName + "-poison"), Ct));
            Assert.Equal(Jobs, StoredJobs.DocumentIds(qdrant.Store, Collection).Count);
            var requests = embeddings.Requests.Count;
            TestContext.Current.TestOutputHelper?.WriteLine($"{requests} requests, {embeddings.WindowRefusals} answered 429 by the sliding window");
            // The goal: at most 1 % of the requests refused, the first minute after the simultaneous start included.
            Assert.True(embeddings.WindowRefusals <= Math.Max(1, requests / 100), $"{embeddings.WindowRefusals} of {requests} requests answered 429");
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }
}
