using System.Collections.Concurrent;
using CsCheck;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.Tests.Ordering;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.Backfill;

/// <summary>
/// Migrations to a model of another size, and layout-only rebuilds that copy every vector, while generated histories of live upserts and deletes (versioned and not) run
/// on two worker processes, one of them SIGKILLed and started again during each (Azurite, the loopback endpoint, the
/// Qdrant STAND-IN). Sampled every 50 ms while it runs, no collection ever holds vectors of two models; after the
/// switch the served collection holds every document in its newest state (an unversioned one: one job's state, never
/// a mix), each point with its own text's vector of the collection's model, and nothing is poisoned.
/// </summary>
[Collection(nameof(WorkerProcessesCollection))]
public sealed class MigrationHistoryTests(AzuriteFixture azurite)
{
    private const string Alias = "documents";
    private const int HistoriesPerSample = 6;
    private const int Samples = 2;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public Task A_migration_to_another_model_and_size_under_raced_live_histories_never_mixes_models_and_ends_in_the_newest_state() =>
        RunAsync(sample => ($"model-{sample}", 4 + sample, ["--model", $"model-{sample}", "--dimensions", (4 + sample).ToString(System.Globalization.CultureInfo.InvariantCulture)]));

    [Fact]
    public Task A_layout_only_rebuild_under_raced_live_histories_copies_each_vector_with_its_own_text_and_ends_in_the_newest_state() =>
        // Same model and size (--force): every vector is copied from the source, read with its text in one read.
        RunAsync(_ => ("test/e5-like", 8, ["--force"]));

    /// <summary>Seeds, then per sample runs the backfill <paramref name="migration"/> names beside generated live histories.</summary>
    private async Task RunAsync(Func<int, (string Model, int Size, string[] Args)> migration)
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.Latency = TimeSpan.FromMilliseconds(20);
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("mig");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Alias);
        DocumentHistory.ForRaces(settings);
        settings["Backfill:MarkerRefresh"] = "00:00:01";
        settings["Backfill:PageSize"] = "4";
        // The shortest page lease allowed: the pages a killed replica held come back after it.
        settings["Backfill:VisibilityTimeout"] = "00:00:30";
        var output = TestContext.Current.TestOutputHelper;
        var everything = new List<DocumentHistory>();

        var steady = WorkerProcess.Start(settings);
        var victim = WorkerProcess.Start(settings);
        try
        {
            // What the first migration copies: documents stored before it starts.
            var seed = new DocumentHistory([.. Enumerable.Range(0, 6).Select(i => new HistoryJob($"seed{i}", 0, false, null, 1 + (i % 3)))]);
            everything.Add(seed);
            foreach (var job in seed.Deliveries)
            {
                await queue.SendMessageAsync(job.Body, Ct);
            }
            await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(60), Ct);

            var samples = 0;
            await DocumentHistory.Generator.Array[HistoriesPerSample].SampleAsync(async histories =>
            {
                var sample = Interlocked.Increment(ref samples);
                var (model, size, args) = migration(sample);
                var named = histories.Select((h, i) => h.Named($"m{sample}h{i}")).ToList();
                everything.AddRange(named);
                var mixes = new ConcurrentQueue<string>();
                using var stopSampling = new CancellationTokenSource();
                var sampler = SampleModelsAsync(qdrant.Store, mixes, stopSampling.Token);

                var backfill = WorkerHost.RunCommandAsync(settings, Ct, ["backfill", .. args, "--poll", "00:00:00.200", "--timeout", "00:04:00"]);
                foreach (var job in named.SelectMany(h => h.Deliveries))
                {
                    await queue.SendMessageAsync(job.Body, Ct);
                    await Task.Delay(Random.Shared.Next(0, 40), Ct);
                }
                await Task.Delay(Random.Shared.Next(100, 800), Ct);
                await victim.KillAsync();
                await victim.DisposeAsync();
                victim = WorkerProcess.Start(settings);
                var (code, text, error) = await backfill;
                output?.WriteLine($"sample {sample}: {named.Sum(h => h.Deliveries.Count)} jobs, migration to {model} ({size}): exit {code}");
                Assert.True(code == 0, text + error);
                await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(120), Ct);
                await QueueAssertions.WaitUntilEmptyAsync(azurite.Queue(queueName + "-backfill"), TimeSpan.FromSeconds(180), Ct);
                await stopSampling.CancelAsync();
                await sampler;

                Assert.True(mixes.IsEmpty, string.Join("\n", mixes.Take(5)));
                if (await QueueAssertions.CountAsync(azurite.Queue(queueName + "-poison"), Ct) > 0)
                {
                    // Why each was poisoned: the envelope carries the reason.
                    Assert.Fail("poisoned: " + string.Join("\n", (await QueueAssertions.DrainAsync(azurite.Queue(queueName + "-poison"), Ct)).Select(e => e.ToString())));
                }
                var served = qdrant.Store.Aliases[Alias];
                Assert.Equal($"{Alias}_v{sample + 1}", served);
                var points = qdrant.Store.Points(served);
                Assert.All(points, p => Assert.Equal((model, size), (p.Payload[PayloadFields.Model].StringValue, p.Vector.Length)));
                // Each point's vector is its own text's (the fake endpoint's vector of a text is the same for every model).
                Assert.All(points, p => Assert.Equal(FakeEmbeddingServer.VectorFor(p.Payload[PayloadFields.Text].StringValue, size), p.Vector));
                foreach (var document in everything.SelectMany(h => h.Documents))
                {
                    var jobs = document.ToList();
                    var stored = StoredChunk.Of(points.Where(p => p.Payload[PayloadFields.DocumentId].StringValue == document.Key));
                    Assert.True(ReferenceModel.HoldsAcrossReplicas(jobs, stored),
                        $"{document.Key} holds [{string.Join(" | ", stored.Select(c => c.Describe()))}] in {served}; expected the state of {(jobs[0].Version is null ? "one of its jobs" : ReferenceModel.Final(jobs))} (deliveries: {string.Join(", ", jobs)})");
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

    /// <summary>Every 50 ms: each collection of the alias holds vectors of one model and one size.</summary>
    private static async Task SampleModelsAsync(StandInStore store, ConcurrentQueue<string> mixes, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            foreach (var collection in store.CollectionNames.Where(c => c.StartsWith(Alias + "_v", StringComparison.Ordinal)))
            {
                var kinds = store.Points(collection).Select(p => (p.Payload[PayloadFields.Model].StringValue, p.Vector.Length)).Distinct().ToList();
                if (kinds.Count > 1)
                {
                    mixes.Enqueue($"{collection} holds {string.Join(" and ", kinds)}");
                }
            }
            try
            {
                await Task.Delay(50, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
