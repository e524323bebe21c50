using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

public sealed class PipelineEndToEndTests(AzuriteFixture azurite)
{
    private const string DefaultCollection = "documents";
    private const string OtherCollection = "manuals";

    [Fact]
    public async Task Every_job_is_stored_and_every_message_settled_with_Azurite_and_the_Qdrant_stand_in()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.ReverseOrder = true;
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName();
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: ct);

        var good = JobCorpus.Good(220, DefaultCollection, OtherCollection);
        good.Add(JobCorpus.AtSizeLimit(DefaultCollection));
        var bad = JobCorpus.Bad();
        var deleteOfUnknown = "{\"id\": \"never-stored\", \"op\": \"delete\"}";
        foreach (var body in good.Select(g => g.Body).Concat(bad.Select(b => b.Body)).Append(deleteOfUnknown))
        {
            await queue.SendMessageAsync(body, ct);
        }

        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, DefaultCollection);
        settings["Qdrant:AllowedCollections:0"] = OtherCollection;
        settings["Chunking:MaxChunkTokens"] = "96";
        settings["Chunking:OverlapTokens"] = "16";
        settings["Batching:MaxInputsPerRequest"] = "16";
        settings["Qdrant:UpsertBatchSize"] = "32";
        var log = new List<string>();
        using var host = WorkerHost.Build(settings, log);
        await host.StartAsync(ct);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(120), ct);
        await host.StopAsync(ct);

        foreach (var job in good)
        {
            StoredJobs.AssertStored(qdrant.Store, job);
        }
        Assert.Equal(good.Count(j => j.Collection == DefaultCollection), StoredJobs.DocumentIds(qdrant.Store, DefaultCollection).Count);
        Assert.Equal(good.Count(j => j.Collection == OtherCollection), StoredJobs.DocumentIds(qdrant.Store, OtherCollection).Count);
        Assert.True(qdrant.Store.EveryWriteWaited, "every upsert and delete must use wait=true");
        Assert.InRange(qdrant.Store.MaxUpsertBatch, 1, 32);

        var requests = embeddings.Requests.ToList();
        Assert.All(requests, r => Assert.InRange(r.Inputs.Count, 1, 16));
        Assert.All(requests, r => Assert.Equal($"Bearer {FakeEmbeddingServer.ApiKey}", r.Authorization));

        Assert.NotEmpty(log);
        Assert.DoesNotContain(log, line => line.Contains(FakeEmbeddingServer.ApiKey, StringComparison.Ordinal));
        // Bad input is a warning; a fresh collection read before it is created is no failure at all.
        Assert.DoesNotContain(log, line => line.StartsWith("Error", StringComparison.Ordinal) || line.StartsWith("Critical", StringComparison.Ordinal));

        var poisoned = await QueueAssertions.DrainAsync(azurite.Queue(queueName + "-poison"), ct);
        Assert.All(poisoned, p => Assert.True(p.TryGetProperty("message", out _), $"poison envelope without the original: {Shorten(p.ToString())}"));
        Assert.Equal(bad.Count, poisoned.Count);
        foreach (var expected in bad)
        {
            var envelope = Assert.Single(poisoned, p => p.GetProperty("message").GetString() == expected.Body);
            Assert.Contains(expected.ExpectedReason, envelope.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Equal(1, envelope.GetProperty("dequeueCount").GetInt64());
            Assert.Equal(queueName, envelope.GetProperty("queue").GetString());
        }
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

}
