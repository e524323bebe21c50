using Azure.Storage.Blobs.Models;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// Scale-out with real processes: three worker processes share one queue (Azurite), one rate budget (the fleet
/// ledger in Azurite's blobs), the loopback endpoint and the Qdrant STAND-IN. Mid-run one is SIGKILLed, one
/// SIGTERMed and a fourth started; every job must end stored as the point contract says, nothing poisoned.
/// </summary>
[Collection(nameof(WorkerProcessesCollection))]
public sealed class ScaleOutEndToEndTests(AzuriteFixture azurite)
{
    private const string DefaultCollection = "documents";
    private const string OtherCollection = "manuals";
    private const int Jobs = 3_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Three_replicas_one_killed_one_terminated_and_a_fourth_started_store_every_job_once_with_the_Qdrant_stand_in()
    {
        Assert.True(File.Exists(WorkerProcess.WorkerDll), $"the worker is built with the tests: {WorkerProcess.WorkerDll}");
        var output = TestContext.Current.TestOutputHelper;
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.Latency = TimeSpan.FromMilliseconds(20);
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("fleet");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        var container = AzuriteFixture.UniqueQueueName("ledger");

        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, DefaultCollection);
        settings["Qdrant:AllowedCollections:0"] = OtherCollection;
        settings["Blobs:Container"] = container;
        settings["Queue:VisibilityTimeout"] = "00:00:05";
        settings["Chunking:MaxChunkTokens"] = "96";
        settings["Chunking:OverlapTokens"] = "16";
        settings["Batching:MaxInputsPerRequest"] = "32";
        // A budget the fleet must share: the replicas coordinate through the ledger the whole run.
        settings["Embeddings:TokensPerMinute"] = "3000000";
        settings["Fleet:HeartbeatInterval"] = "00:00:01";
        settings["Fleet:MemberTimeout"] = "00:00:04";
        settings["Logging:LogLevel:Default"] = "Warning";
        settings["Logging:LogLevel:Stackit.EmbeddingWorker.Embeddings.Throttling"] = "Information";

        var good = JobCorpus.Good(Jobs, DefaultCollection, OtherCollection);
        await Parallel.ForEachAsync(good, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Ct },
            async (job, ct) => await queue.SendMessageAsync(job.Body, ct));
        var replicas = new List<WorkerProcess> { WorkerProcess.Start(settings), WorkerProcess.Start(settings), WorkerProcess.Start(settings) };
        try
        {
            await WaitUntilAsync(() => StoredJobs.DocumentIds(qdrant.Store, DefaultCollection).Count >= Jobs / 10, TimeSpan.FromSeconds(120));

            // Mid-run: one replica drains on SIGTERM while another dies without a word and a fourth starts.
            var terminated = replicas[1];
            var draining = terminated.TerminateAsync(TimeSpan.FromSeconds(45));
            await replicas[0].KillAsync();
            replicas.Add(WorkerProcess.Start(settings));
            output?.WriteLine($"terminated one, killed one, started a fourth with {StoredJobs.DocumentIds(qdrant.Store, DefaultCollection).Count} documents stored");
            Assert.True(await draining, terminated.Tail());

            await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(240), Ct);

            Assert.Equal(0, await QueueAssertions.CountAsync(azurite.Queue(queueName + "-poison"), Ct));
            foreach (var job in good)
            {
                StoredJobs.AssertStored(qdrant.Store, job);
            }
            Assert.Equal(good.Count(j => j.Collection == DefaultCollection), StoredJobs.DocumentIds(qdrant.Store, DefaultCollection).Count);
            Assert.Equal(good.Count(j => j.Collection == OtherCollection), StoredJobs.DocumentIds(qdrant.Store, OtherCollection).Count);

            // The fourth replica joined the running fleet and took a share without a restart of the others.
            var fourth = replicas[3];
            Assert.Contains(fourth.Output, line => line.Contains("Rate budget shared by", StringComparison.Ordinal));
            Assert.Contains(replicas[2].Output, line => line.Contains("Rate budget shared by 3 replica(s)", StringComparison.Ordinal));

            foreach (var survivor in new[] { replicas[2], fourth })
            {
                Assert.True(await survivor.TerminateAsync(TimeSpan.FromSeconds(45)), survivor.Tail());
            }
            // Those that stopped removed their ledger entries; only the killed one's can remain (it ages out).
            var entries = new List<string>();
            await foreach (var blob in azurite.Container(container).GetBlobsAsync(new GetBlobsOptions { Prefix = "fleet/" }, Ct))
            {
                entries.Add(blob.Name);
            }
            Assert.InRange(entries.Count, 0, 1);
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    private static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout) =>
        Eventually.HoldsAsync(condition, timeout, TimeSpan.FromMilliseconds(200), Ct);
}
