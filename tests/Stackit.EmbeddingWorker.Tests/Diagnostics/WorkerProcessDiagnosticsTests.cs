using System.Net;
using System.Text.Json;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Diagnostics;

/// <summary>The worker's own process, configured as the chart configures it: JSON logs with job scopes, probes on the management port.</summary>
public sealed class WorkerProcessDiagnosticsTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Json_console_lines_carry_the_message_and_document_ids_and_the_probes_answer()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("json");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        var sent = (await queue.SendMessageAsync("""{"id":"manual-42","text":"how to bleed the radiator"}""", Ct)).Value;

        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, "documents");
        settings["Logging:LogLevel:Default"] = "Debug";
        settings["Logging:Console:FormatterName"] = "json";
        settings["Logging:Console:FormatterOptions:IncludeScopes"] = "true";
        await using var worker = WorkerProcess.Start(settings);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{worker.ManagementPort}") };
        await FreePort.WaitUntilListeningAsync(worker.ManagementPort, TimeSpan.FromSeconds(30), () => worker.HasExited ? worker.Tail() : null);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(60), Ct);
        var live = await http.GetAsync("/healthz", Ct);
        var ready = await http.GetAsync("/readyz", Ct);
        Assert.True(await worker.TerminateAsync(TimeSpan.FromSeconds(30)), worker.Tail());

        var lines = worker.Output.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.True(l.TryGetProperty("Category", out _) && l.TryGetProperty("LogLevel", out _)));
        var aboutTheJob = lines.Where(l => l.TryGetProperty("Scopes", out var scopes) && scopes.EnumerateArray().Any(s =>
            s.ValueKind == JsonValueKind.Object
            && s.TryGetProperty("MessageId", out var m) && m.GetString() == sent.MessageId
            && s.TryGetProperty("DocumentId", out var d) && d.GetString() == "manual-42")).ToList();
        Assert.Contains(aboutTheJob, l => l.GetProperty("Category").GetString()!.EndsWith("SettlementPolicy", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task Probes_and_scrapes_are_not_logged_at_the_shipped_log_levels()
    {
        // Each probe or scrape logged four Information lines (request starting, endpoint executing and executed,
        // request finished): a kubelet and a scraper filled the logs with them (issue 31, finding 3).
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("quiet");
        await azurite.Queue(queueName).CreateAsync(cancellationToken: Ct);
        await using var worker = WorkerProcess.Start(WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, "documents"));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{worker.ManagementPort}") };
        await FreePort.WaitUntilListeningAsync(worker.ManagementPort, TimeSpan.FromSeconds(30), () => worker.HasExited ? worker.Tail() : null);

        foreach (var path in new[] { "/healthz", "/readyz", "/metrics", "/healthz", "/readyz", "/metrics" })
        {
            (await http.GetAsync(path, Ct)).Dispose();
        }
        Assert.True(await worker.TerminateAsync(TimeSpan.FromSeconds(30)), worker.Tail());

        Assert.DoesNotContain(worker.Output, line => line.Contains("Microsoft.AspNetCore", StringComparison.Ordinal));
    }
}
