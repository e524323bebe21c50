using System.Net;
using Azure.Storage.Queues;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// The whole worker against Azurite, the Qdrant stand-in and a faulty endpoint: whatever the fault, every job
/// ends up stored once with its own vector, nothing is poisoned, and outages leave the backlog in the queue.
/// </summary>
public sealed class FaultsEndToEndTests(AzuriteFixture azurite)
{
    private const string Collection = "documents";
    private const int Jobs = 30;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Faults =>
    [
        "429 burst with Retry-After", "429 burst without Retry-After", "500", "502", "503",
        "connection reset", "slower than the timeout", "fewer vectors than inputs", "wrong index values",
        "NaN or infinite values in a vector",
    ];

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Every_job_is_stored_once_despite_the_fault(string fault)
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.StallFor = TimeSpan.FromSeconds(3);
        for (var i = 0; i < 6; i++)
        {
            Inject(embeddings, fault);
        }
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var (queue, texts) = await EnqueueAsync("fault");

        var settings = Settings(queue.Name, embeddings, qdrant);
        settings["Embeddings:Timeout"] = "00:00:01";
        using var host = WorkerHost.Build(settings);
        await host.StartAsync(Ct);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(90), Ct);
        await host.StopAsync(Ct);

        Assert.Equal(0, embeddings.PendingFaults);
        await AssertEveryJobStoredOnceAsync(qdrant.Store, texts, queue.Name);
    }

    [Fact]
    public async Task Endpoint_outage_pauses_intake_keeps_the_backlog_queued_and_resumes_by_itself()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        await AssertOutageIsSatOutAsync("down", embeddings, qdrant, down => embeddings.Down = down);
    }

    [Fact]
    public async Task Qdrant_outage_pauses_intake_keeps_the_backlog_queued_and_resumes_by_itself()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        await AssertOutageIsSatOutAsync("qdown", embeddings, qdrant, down => qdrant.Store.Down = down);
    }

    /// <summary>Takes a dependency down for 8 s, then brings it back; the worker must wait it out and finish alone.</summary>
    private async Task AssertOutageIsSatOutAsync(string prefix, FakeEmbeddingServer embeddings, QdrantStandInServer qdrant, Action<bool> setDown)
    {
        setDown(true);
        var (queue, texts) = await EnqueueAsync(prefix);

        using var host = WorkerHost.Build(OutageSettings(queue.Name, embeddings, qdrant));
        await host.StartAsync(Ct);
        await Task.Delay(TimeSpan.FromSeconds(8), Ct);

        // Intake paused: most jobs never left the queue, though the outage outlasted their retries many times over.
        var tried = embeddings.Requests.SelectMany(r => r.Inputs).Distinct().Count();
        Assert.InRange(tried, 1, Jobs / 2);
        Assert.Equal(0, await QueueAssertions.CountAsync(azurite.Queue(queue.Name + "-poison"), Ct));

        setDown(false);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(90), Ct);
        await host.StopAsync(Ct);

        await AssertEveryJobStoredOnceAsync(qdrant.Store, texts, queue.Name);
    }

    private static void Inject(FakeEmbeddingServer server, string fault)
    {
        switch (fault)
        {
            case "429 burst with Retry-After": server.EnqueueFault(HttpStatusCode.TooManyRequests, retryAfter: "1"); break;
            case "429 burst without Retry-After": server.EnqueueFault(HttpStatusCode.TooManyRequests); break;
            case "500": server.EnqueueFault(HttpStatusCode.InternalServerError); break;
            case "502": server.EnqueueFault(HttpStatusCode.BadGateway); break;
            case "503": server.EnqueueFault(HttpStatusCode.ServiceUnavailable); break;
            case "connection reset": server.EnqueueFault(EndpointFault.ConnectionReset); break;
            case "slower than the timeout": server.EnqueueFault(EndpointFault.Stall); break;
            case "fewer vectors than inputs": server.EnqueueFault(EndpointFault.FewerVectors); break;
            case "wrong index values": server.EnqueueFault(EndpointFault.WrongIndex); break;
            case "NaN or infinite values in a vector": server.EnqueueFault(EndpointFault.NonFiniteVector); break;
            default: throw new ArgumentOutOfRangeException(nameof(fault), fault, null);
        }
    }

    private Dictionary<string, string?> Settings(string queueName, FakeEmbeddingServer embeddings, QdrantStandInServer qdrant)
    {
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Batching:MaxInputsPerRequest"] = "4";
        settings["Embeddings:MaxConcurrency"] = "4";
        return settings;
    }

    /// <summary>Few retries, a short circuit pause and a small dequeue limit: an outage would poison jobs fast if it counted.</summary>
    private Dictionary<string, string?> OutageSettings(string queueName, FakeEmbeddingServer embeddings, QdrantStandInServer qdrant)
    {
        var settings = Settings(queueName, embeddings, qdrant);
        settings["Queue:MaxInFlightMessages"] = "4";
        settings["Queue:MaxDequeueCount"] = "2";
        settings["Embeddings:MaxRetries"] = "1";
        settings["Circuit:FailureThreshold"] = "1";
        settings["Circuit:BreakDuration"] = "00:00:00.300";
        settings["Circuit:MaxBreakDuration"] = "00:00:01";
        return settings;
    }

    private async Task<(QueueClient Queue, List<string> Texts)> EnqueueAsync(string prefix)
    {
        var queue = azurite.Queue(AzuriteFixture.UniqueQueueName(prefix));
        await queue.CreateAsync(cancellationToken: Ct);
        var texts = Enumerable.Range(0, Jobs).Select(i => $"Document {i} on valve V{i} and its seals.").ToList();
        for (var i = 0; i < Jobs; i++)
        {
            await queue.SendMessageAsync($$"""{"id":"doc-{{i}}","text":"{{texts[i]}}"}""", Ct);
        }
        return (queue, texts);
    }

    private async Task AssertEveryJobStoredOnceAsync(StandInStore store, List<string> texts, string queueName)
    {
        var points = store.Points(Collection);
        Assert.Equal(Jobs, points.Count);
        for (var i = 0; i < Jobs; i++)
        {
            var point = Assert.Single(points, p => p.Payload[PayloadFields.DocumentId].StringValue == $"doc-{i}");
            Assert.Equal(PointIds.For(Collection, $"doc-{i}", 0).ToString(), point.Id.Uuid);
            Assert.Equal(texts[i], point.Payload[PayloadFields.Text].StringValue);
            Assert.Equal(FakeEmbeddingServer.VectorFor(texts[i], 8), point.Vector);
        }
        Assert.Equal(0, await QueueAssertions.CountAsync(azurite.Queue(queueName + "-poison"), Ct));
    }

}
