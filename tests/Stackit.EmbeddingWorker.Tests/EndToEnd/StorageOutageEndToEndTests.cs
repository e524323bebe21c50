using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// Storage goes away in the middle of a run and comes back: the whole worker against an Azurite of its own that keeps
/// its messages ON DISK (so it can be stopped and started again like a real outage), the loopback endpoint and the
/// Qdrant STAND-IN.
/// </summary>
public sealed class StorageOutageEndToEndTests
{
    private const int Jobs = 120;
    private const string Collection = "documents";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Storage_stopped_for_30_s_mid_run_loses_nothing_the_worker_stays_up_and_the_backlog_drains_Azurite_on_disk()
    {
        await using var storage = new AzuriteOnDisk();
        await storage.StartAsync();
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.Latency = TimeSpan.FromMilliseconds(50);
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queue = new QueueClient(storage.ConnectionString, "outage", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        await queue.CreateAsync(cancellationToken: Ct);
        for (var i = 0; i < Jobs; i++)
        {
            await queue.SendMessageAsync($$"""{"id":"doc-{{i}}","text":"Document {{i}}: the pumps of line {{i % 7}} are checked weekly."}""", Ct);
        }
        var settings = WorkerHost.Settings(storage.ConnectionString, "outage", embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Queue:VisibilityTimeout"] = "00:00:05";
        settings["Queue:MaxPollingInterval"] = "00:00:01";
        settings["Batching:MaxInputsPerRequest"] = "2";
        settings["Embeddings:MaxConcurrency"] = "2";
        var log = new List<string>();
        using var host = WorkerHost.Build(settings, log);
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        await host.StartAsync(Ct);
        await WaitUntilAsync(() => Stored(qdrant) >= Jobs / 4, TimeSpan.FromSeconds(60));

        // Longer than Azure.Core's own retries, so every storage call in flight gives up with an AggregateException.
        await storage.StopAsync();
        var storedDuringOutage = Stored(qdrant);
        await Task.Delay(TimeSpan.FromSeconds(30), Ct);
        Assert.False(stopping.IsCancellationRequested, "the worker stopped during the outage:\n" + Tail(log));

        await storage.StartAsync();
        await WaitUntilAsync(() => Stored(qdrant) == Jobs, TimeSpan.FromSeconds(120));
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(60), Ct);
        Assert.False(stopping.IsCancellationRequested, "the worker stopped after the outage:\n" + Tail(log));
        await host.StopAsync(Ct);

        var poison = new QueueClient(storage.ConnectionString, "outage-poison");
        Assert.Equal(0, await poison.ExistsAsync(Ct) ? await QueueAssertions.CountAsync(poison, Ct) : 0);
        Assert.True(storedDuringOutage < Jobs, "the outage began after every job was stored; it tested nothing");

        // The outage is logged as one: a line when the queue goes down, one a minute while it stays down, one when it
        // is back; no receive failure logs its stack above Debug (each was a 160-line AggregateException).
        List<string> intake;
        lock (log)
        {
            intake = log.Where(l => l.Length > 12 && (l[12..].StartsWith("IntakeService: ", StringComparison.Ordinal) || l[12..].StartsWith("AcknowledgementService: ", StringComparison.Ordinal))).ToList();
        }
        var loud = intake.Where(l => l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal)).ToList();
        Assert.Single(loud, l => l.Contains("Queue outage is down: ", StringComparison.Ordinal));
        Assert.InRange(loud.Count(l => l.Contains("Queue outage still down", StringComparison.Ordinal)), 0, 1);
        Assert.Single(intake, l => l.StartsWith("Information", StringComparison.Ordinal) && l.Contains("Queue outage is back after", StringComparison.Ordinal));
        Assert.InRange(loud.Count(l => l.Contains("Queue (settling messages) is down: ", StringComparison.Ordinal)), 0, 1);
        Assert.All(loud, l => Assert.DoesNotContain(" | ", l, StringComparison.Ordinal));
    }

    private static int Stored(QdrantStandInServer qdrant) =>
        qdrant.Store.Points(Collection).Select(p => p.Payload[PayloadFields.DocumentId].StringValue).Distinct().Count();

    private static string Tail(List<string> log)
    {
        lock (log)
        {
            return string.Join('\n', log.TakeLast(30));
        }
    }

    private static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout) =>
        Eventually.HoldsAsync(condition, timeout, TimeSpan.FromMilliseconds(100), Ct);
}
