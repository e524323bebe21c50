using Azure.Storage.Queues;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>The whole worker against Azurite and the Qdrant stand-in: leases outlive slow jobs, shutdown loses nothing.</summary>
public sealed class LeaseAndShutdownEndToEndTests(AzuriteFixture azurite)
{
    private const string Collection = "documents";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Job_slower_than_its_visibility_timeout_keeps_its_lease_and_no_second_receiver_gets_it()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.Latency = TimeSpan.FromSeconds(7);
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("slow");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        await queue.SendMessageAsync("""{"id":"slow-1","text":"a document the endpoint takes its time over"}""", Ct);

        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Queue:VisibilityTimeout"] = "00:00:02";
        settings["Embeddings:Timeout"] = "00:00:30";
        using var host = WorkerHost.Build(settings);
        await host.StartAsync(Ct);

        while (embeddings.Requests.IsEmpty)
        {
            await Task.Delay(20, Ct);
        }

        // The worker holds the message now. A second replica polls all the while (more than three visibility
        // timeouts); with the lease renewed it must never see the message.
        var stolen = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await QueueAssertions.CountAsync(queue, Ct) > 0 && DateTime.UtcNow < deadline)
        {
            stolen += (await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30), Ct)).Value.Length;
            await Task.Delay(250, Ct);
        }
        await host.StopAsync(Ct);

        Assert.Equal(0, stolen);
        Assert.Equal(0, await QueueAssertions.CountAsync(queue, Ct));
        Assert.Single(embeddings.Requests);
        Assert.Single(qdrant.Store.Points(Collection));
    }

    [Fact]
    public async Task Stop_drains_what_can_finish_and_makes_every_other_message_visible_again_at_once()
    {
        const int jobs = 40;
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.Latency = TimeSpan.FromSeconds(1);
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var (queueName, queue) = await QueueWithJobsAsync("stop", jobs, "pumps");

        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Queue:VisibilityTimeout"] = "00:05:00";
        settings["HostOptions:ShutdownTimeout"] = "00:00:05";
        settings["Embeddings:MaxConcurrency"] = "1";
        settings["Batching:MaxInputsPerRequest"] = "2";
        using var host = WorkerHost.Build(settings);
        await host.StartAsync(Ct);
        while (embeddings.Requests.Count < 2)
        {
            await Task.Delay(20, Ct);
        }

        // The second request is in flight: it can finish within the 4 s of draining, the other jobs cannot.
        var storedAtStop = StoredDocuments(qdrant.Store);
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await host.StopAsync(Ct);
        stopping.Stop();
        var stored = StoredDocuments(qdrant.Store);

        Assert.True(stored > storedAtStop, $"the request in flight at stop should have been finished ({storedAtStop} stored then, {stored} now)");
        Assert.True(stored < jobs, "the endpoint is too slow for all jobs to finish within the shutdown timeout");
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(15), $"stopping took {stopping.Elapsed}");
        // Every job not stored is visible again now, not after the five-minute visibility timeout. The one batch
        // (two jobs) whose write may have raced the abort can be visible although stored: Qdrant applied the
        // upsert the worker had given up on. It is delivered again and overwrites its points (at-least-once).
        var visible = await ReceiveAllAsync(queue);
        Assert.InRange(visible, jobs - stored, jobs - stored + 2);
        Assert.Equal(visible, await QueueAssertions.CountAsync(queue, Ct));
        Assert.Equal(0, await QueueAssertions.CountAsync(azurite.Queue(queueName + "-poison"), Ct));
    }

    [Fact]
    public async Task Messages_whose_receive_is_in_flight_at_stop_are_visible_again_at_once()
    {
        const int jobs = 5;
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        await using var proxy = await HoldingQueueProxy.StartAsync(azurite.ConnectionString);
        var (queueName, queue) = await QueueWithJobsAsync("inflight", jobs, "valves");

        proxy.HoldReceives = true;
        var settings = WorkerHost.Settings(proxy.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Queue:VisibilityTimeout"] = "00:05:00";
        settings["HostOptions:ShutdownTimeout"] = "00:00:05";
        using var host = WorkerHost.Build(settings);
        await host.StartAsync(Ct);

        // Azurite has leased the messages; their answer is on its way when the stop begins.
        Assert.Equal(jobs, await proxy.ReceiveHeld.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        var stopping = host.StopAsync(Ct);
        await Task.Delay(300, Ct);
        proxy.ReleaseHeld();
        await stopping;

        Assert.Empty(embeddings.Requests);
        Assert.Equal(jobs, await ReceiveAllAsync(queue));
    }

    [Fact]
    public async Task A_job_that_fails_while_the_worker_stops_is_visible_again_at_once()
    {
        const int jobs = 4;
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.Latency = TimeSpan.FromMilliseconds(500);
        embeddings.Down = true;
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var (queueName, queue) = await QueueWithJobsAsync("failstop", jobs, "seals");

        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Queue:VisibilityTimeout"] = "00:05:00";
        settings["HostOptions:ShutdownTimeout"] = "00:00:10";
        settings["Embeddings:MaxConcurrency"] = "1";
        settings["Embeddings:MaxRetries"] = "1";
        settings["Batching:MaxInputsPerRequest"] = "4";
        settings["Batching:MaxDelay"] = "00:00:00.500";
        using var host = WorkerHost.Build(settings);
        await host.StartAsync(Ct);
        while (embeddings.Requests.IsEmpty)
        {
            await Task.Delay(20, Ct);
        }

        // The request in flight at stop fails within the drain (two attempts of half a second each): its jobs are
        // settled as failed while stopping, and are handed back at once rather than after the retry backoff.
        await host.StopAsync(Ct);

        Assert.Equal(jobs, await ReceiveAllAsync(queue));
        Assert.Equal(0, await QueueAssertions.CountAsync(azurite.Queue(queueName + "-poison"), Ct));
    }

    /// <summary>A new queue holding <paramref name="jobs"/> short documents (<c>doc-0</c>, <c>doc-1</c>, …).</summary>
    private async Task<(string Name, QueueClient Queue)> QueueWithJobsAsync(string prefix, int jobs, string topic)
    {
        var name = AzuriteFixture.UniqueQueueName(prefix);
        var queue = azurite.Queue(name);
        await queue.CreateAsync(cancellationToken: Ct);
        for (var i = 0; i < jobs; i++)
        {
            await queue.SendMessageAsync($$"""{"id":"doc-{{i}}","text":"document {{i}} about {{topic}}"}""", Ct);
        }
        return (name, queue);
    }

    private static int StoredDocuments(StandInStore store) =>
        store.Points(Collection).Select(p => p.Payload[PayloadFields.DocumentId].StringValue).Distinct().Count();

    private static async Task<int> ReceiveAllAsync(QueueClient queue)
    {
        var count = 0;
        while ((await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5), Ct)).Value is { Length: > 0 } messages)
        {
            count += messages.Length;
        }
        return count;
    }

}
