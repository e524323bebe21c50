using Azure.Storage.Queues;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// The worker as a separate process over 2,000 jobs, killed with SIGKILL at several points and restarted,
/// then stopped with SIGTERM: every job's points end up in the Qdrant stand-in exactly once, the queue empties,
/// nothing is poisoned, and the graceful stop exits with code 0.
/// </summary>
[Collection(nameof(WorkerProcessesCollection))]
public sealed class CrashRecoveryTests(AzuriteFixture azurite)
{
    private const string Collection = "documents";
    private const int Jobs = 2_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Jobs_survive_repeated_SIGKILL_and_end_stored_exactly_once_with_the_Qdrant_stand_in()
    {
        Assert.True(File.Exists(WorkerProcess.WorkerDll), $"the worker is built with the tests: {WorkerProcess.WorkerDll}");
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.Latency = TimeSpan.FromMilliseconds(20);
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("crash");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        await EnqueueAsync(queue);

        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Queue:VisibilityTimeout"] = "00:00:03";
        settings["Queue:MaxInFlightMessages"] = "128";
        // Queue:MaxDequeueCount stays at its default: deliveries that end in a kill are no failed attempts.
        settings["Chunking:MaxChunkTokens"] = "64";
        settings["Chunking:OverlapTokens"] = "8";
        settings["Logging:LogLevel:Default"] = "Warning";

        // Kill points: during start-up and intake, then after a third, a half and three quarters of the jobs.
        var output = TestContext.Current.TestOutputHelper;
        var kills = 0;
        foreach (var storedBeforeKill in new[] { 0, Jobs / 3, Jobs / 2, Jobs * 3 / 4 })
        {
            await using var worker = WorkerProcess.Start(settings);
            await WaitUntilAsync(() => StoredDocuments(qdrant.Store) >= storedBeforeKill, worker);
            await Task.Delay(storedBeforeKill == 0 ? 1_500 : Random.Shared.Next(0, 300), Ct);
            await worker.KillAsync();
            kills++;
            output?.WriteLine($"SIGKILL {kills} with {StoredDocuments(qdrant.Store)} of {Jobs} documents stored");
        }

        await using (var last = WorkerProcess.Start(settings))
        {
            await WaitUntilAsync(async () => await QueueAssertions.CountAsync(queue, Ct) == 0, last);
            Assert.True(await last.TerminateAsync(TimeSpan.FromSeconds(30)), "the worker did not stop within 30 s of SIGTERM:\n" + last.Tail());
            Assert.True(last.ExitCode == 0, $"exit code {last.ExitCode} after SIGTERM:\n{last.Tail()}");
        }

        var points = qdrant.Store.Points(Collection);
        var byDocument = points.GroupBy(p => p.Payload[PayloadFields.DocumentId].StringValue).ToDictionary(g => g.Key, g => g.ToList());
        var lost = Enumerable.Range(0, Jobs).Count(i => !byDocument.ContainsKey(Id(i)));
        Assert.Equal(0, lost);
        foreach (var (id, chunks) in byDocument)
        {
            var count = chunks[0].Payload[PayloadFields.ChunkCount].IntegerValue;
            Assert.All(chunks, c => Assert.Equal(count, c.Payload[PayloadFields.ChunkCount].IntegerValue));
            // Exactly one point for each chunk index, under the id the contract gives it: no duplicate, no stray tail.
            Assert.Equal(Enumerable.Range(0, (int)count).Select(i => (long)i), chunks.Select(c => c.Payload[PayloadFields.ChunkIndex].IntegerValue).Order());
            Assert.All(chunks, c => Assert.Equal(PointIds.For(Collection, id, (int)c.Payload[PayloadFields.ChunkIndex].IntegerValue).ToString(), c.Id.Uuid));
        }
        Assert.True(byDocument.Values.Any(c => c.Count > 1), "some documents must be long enough to be chunked");
        Assert.Equal(0, await QueueAssertions.CountAsync(queue, Ct));
        Assert.Equal(0, await QueueAssertions.CountAsync(azurite.Queue(queueName + "-poison"), Ct));
        output?.WriteLine($"{Jobs} jobs, {kills} SIGKILLs, {points.Count} points, {lost} lost, {qdrant.Store.Overwrites} points rewritten by re-deliveries");
    }

    private static string Id(int i) => $"doc-{i:D4}";

    private static async Task EnqueueAsync(QueueClient queue)
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, Jobs), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Ct }, async (i, token) =>
        {
            var text = i % 25 == 0
                ? string.Concat(Enumerable.Range(0, 30).Select(s => $"Sentence {s} of document {i} explains step {s}. "))
                : $"Document {i} covers pump P{i}.";
            await queue.SendMessageAsync($$"""{"id":"{{Id(i)}}","text":"{{text}}"}""", token);
        });
    }

    private static Task WaitUntilAsync(Func<bool> condition, WorkerProcess worker) => WaitUntilAsync(() => Task.FromResult(condition()), worker);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, WorkerProcess worker)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!await condition())
        {
            Assert.False(worker.HasExited, "the worker exited by itself:\n" + worker.Tail());
            Assert.True(DateTime.UtcNow < deadline, "no progress within 3 minutes:\n" + worker.Tail());
            await Task.Delay(50, Ct);
        }
    }

    private static int StoredDocuments(StandInStore store) =>
        store.Points(Collection).Select(p => p.Payload[PayloadFields.DocumentId].StringValue).Distinct().Count();

}
