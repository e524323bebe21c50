using CsCheck;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.Ordering;

/// <summary>
/// Two worker processes on one queue (Azurite, the loopback endpoint, the Qdrant STAND-IN) race the jobs of
/// generated histories, and one of them is SIGKILLed in the middle of each sample and started again: every versioned
/// document must end as exactly its highest version (nothing if that is a delete), every unversioned one as exactly
/// one of its jobs' states (two replicas have no common order of receipt, but must never mix two jobs' chunks).
/// </summary>
[Collection(nameof(WorkerProcessesCollection))]
public sealed class TwoReplicaOrderingTests(AzuriteFixture azurite)
{
    private const string Collection = "documents";
    private const int HistoriesPerSample = 20;
    private const int Samples = 4;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Histories_raced_by_two_replicas_one_of_them_killed_end_in_the_newest_state()
    {
        Assert.True(File.Exists(WorkerProcess.WorkerDll), $"the worker is built with the tests: {WorkerProcess.WorkerDll}");
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.Latency = TimeSpan.FromMilliseconds(30);
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("race");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        DocumentHistory.ForRaces(settings);
        var output = TestContext.Current.TestOutputHelper;

        var steady = WorkerProcess.Start(settings);
        var victim = WorkerProcess.Start(settings);
        try
        {
            var samples = 0;
            await DocumentHistory.Generator.Array[HistoriesPerSample].SampleAsync(async histories =>
            {
                var sample = Interlocked.Increment(ref samples);
                var named = histories.Select((h, i) => h.Named($"x{sample}h{i}")).ToList();
                foreach (var job in named.SelectMany(h => h.Deliveries))
                {
                    await queue.SendMessageAsync(job.Body, Ct);
                }
                // Mid-run: one replica dies without a word; its leased messages come back after their visibility.
                await Task.Delay(Random.Shared.Next(200, 1_200), Ct);
                await victim.KillAsync();
                await victim.DisposeAsync();
                output?.WriteLine($"sample {sample}: SIGKILL, {named.Sum(h => h.Deliveries.Count)} jobs");
                victim = WorkerProcess.Start(settings);
                await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(120), Ct);

                Assert.Equal(0, await QueueAssertions.CountAsync(azurite.Queue(queueName + "-poison"), Ct));
                foreach (var document in named.SelectMany(h => h.Documents))
                {
                    var jobs = document.ToList();
                    var stored = StoredChunk.Of(qdrant.Store.Points(Collection).Where(p => p.Payload[PayloadFields.DocumentId].StringValue == document.Key));
                    Assert.True(ReferenceModel.HoldsAcrossReplicas(jobs, stored),
                        $"{document.Key} holds [{string.Join(" | ", stored.Select(c => c.Describe()))}]; expected the state of {(jobs[0].Version is null ? "one of its jobs" : ReferenceModel.Final(jobs))} (deliveries: {string.Join(", ", jobs)})");
                }
            }, iter: Samples, threads: 1, print: h => string.Join(" ; ", h.Select(x => x.ToString())));
            Assert.True(await steady.TerminateAsync(TimeSpan.FromSeconds(30)), steady.Tail());
        }
        finally
        {
            await steady.DisposeAsync();
            await victim.DisposeAsync();
        }
    }
}
