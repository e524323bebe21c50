using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Security;

/// <summary>The worker's credentials never show up in its log, in an exception or in a poison message.</summary>
public sealed class SecretTests(AzuriteFixture azurite)
{
    private const string RefusedKey = "sk-refused-4f9c2b7e8a1d6e3f";
    private const string QdrantKey = "qdrant-key-7d2e9a4c1b8f";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Refused_api_key_is_never_logged_and_poisons_no_job_the_backlog_waits_for_the_fix()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("secret");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        for (var i = 0; i < 10; i++)
        {
            await queue.SendMessageAsync($$"""{"id":"doc-{{i}}","text":"document {{i}}"}""", Ct);
        }

        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, "documents");
        settings["Embeddings:ApiKey"] = RefusedKey;
        settings["Qdrant:ApiKey"] = QdrantKey;
        settings["Embeddings:MaxRetries"] = "1";
        settings["Queue:MaxDequeueCount"] = "1";
        settings["Circuit:FailureThreshold"] = "1";
        settings["Circuit:BreakDuration"] = "00:00:00.200";
        settings["Circuit:MaxBreakDuration"] = "00:00:00.400";
        var log = new List<string>();
        using (var host = WorkerHost.Build(settings, log))
        {
            await host.StartAsync(Ct);
            while (embeddings.Requests.Count < 5)
            {
                await Task.Delay(50, Ct);
            }
            await host.StopAsync(Ct);
        }

        // The endpoint saw the key, so it was really sent; the worker's own output never shows it.
        Assert.All(embeddings.Requests, r => Assert.Equal($"Bearer {RefusedKey}", r.Authorization));
        string[] lines;
        lock (log)
        {
            lines = [.. log];
        }
        Assert.Contains(lines, l => l.Contains("401", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(RefusedKey, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(QdrantKey, StringComparison.Ordinal));

        // A refused key is the worker's problem, not the jobs': none is poisoned, all wait in the queue.
        Assert.Equal(0, await QueueAssertions.CountAsync(azurite.Queue(queueName + "-poison"), Ct));
        Assert.Equal(10, await QueueAssertions.CountAsync(queue, Ct));
    }

}
