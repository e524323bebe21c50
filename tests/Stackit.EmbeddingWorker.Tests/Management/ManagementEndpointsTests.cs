using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Chart;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Management;

/// <summary>
/// The management port of the whole worker (Azurite, the loopback endpoint, the Qdrant stand-in): what
/// Prometheus scrapes after real work, and what the probes answer when a dependency goes away.
/// Runs alone: OpenTelemetry listens to every meter of the worker's name in the process, so another test's
/// worker running at the same time would add to these counts.
/// </summary>
[Collection(nameof(ManagementEndpointsTests))]
public sealed partial class ManagementEndpointsTests(AzuriteFixture azurite)
{
    private const string Collection = "documents";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_count_the_jobs_inputs_tokens_and_requests_of_real_work_and_never_show_the_key()
    {
        const int jobs = 12;
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var (queueName, port) = await PrepareAsync(jobs);
        var poison = azurite.Queue(queueName + "-poison");
        await poison.CreateIfNotExistsAsync(cancellationToken: Ct);
        await poison.SendMessageAsync("{}", Ct);
        // One job the worker must refuse: it is poisoned, with its reason on the metric.
        await azurite.Queue(queueName).SendMessageAsync("not a job", Ct);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Batching:MaxInputsPerRequest"] = "4";
        settings["Management:QueueDepthInterval"] = "00:00:01";
        await using var app = WorkerHost.BuildWithManagement(settings, port);
        await app.StartAsync(Ct);
        await QueueAssertions.WaitUntilEmptyAsync(azurite.Queue(queueName), TimeSpan.FromSeconds(60), Ct);
        while (qdrant.Store.Points(Collection).Count < jobs)
        {
            await Task.Delay(20, Ct);
        }
        // Acknowledgement counts a job stored just before it deletes the message; wait until all are counted.
        string text;
        do
        {
            await Task.Delay(100, Ct);
            text = await http.GetStringAsync("/metrics", Ct);
        }
        while (Value(text, "embedding_worker_jobs_stored_total") < jobs || Value(text, "embedding_worker_jobs_poisoned_total") < 1);
        await app.StopAsync(Ct);

        Assert.Equal(jobs + 1, Value(text, "embedding_worker_jobs_received_total"));
        Assert.Equal(1, Value(text, "embedding_worker_jobs_poisoned_total", "error_type=\"rejected\""));
        Assert.Equal(jobs, Value(text, "embedding_worker_jobs_stored_total"));
        Assert.Equal(jobs, Value(text, "embedding_worker_inputs_total"));
        Assert.Equal(embeddings.Requests.Sum(r => r.Inputs.Count), Value(text, "embedding_worker_inputs_total"));
        Assert.True(Value(text, "embedding_worker_tokens_total") > 0);
        Assert.Equal(embeddings.Requests.Count, Value(text, "embedding_worker_requests_total", "http_response_status_code=\"200\""));
        Assert.Equal(embeddings.Requests.Count, Value(text, "embedding_worker_batch_inputs_count"));
        Assert.True(Value(text, "embedding_worker_batch_inputs_sum") == jobs);
        Assert.Contains("embedding_worker_request_duration_seconds_bucket", text, StringComparison.Ordinal);
        Assert.Contains($"embedding_worker_queue_depth{{otel_scope_name=\"Stackit.EmbeddingWorker\",queue=\"{queueName}\"}}", text, StringComparison.Ordinal);
        // The oldest message's age per queue (the poison queue's was enqueued before the worker started), the backfill
        // queues beside the live ones, and how old the polled values are.
        Assert.True(Value(text, "embedding_worker_queue_oldest_message_age_seconds", $"queue=\"{queueName}-poison\"") >= 1);
        Assert.Contains($"embedding_worker_queue_oldest_message_age_seconds{{otel_scope_name=\"Stackit.EmbeddingWorker\",queue=\"{queueName}\"}}", text, StringComparison.Ordinal);
        Assert.Contains($"embedding_worker_queue_depth{{otel_scope_name=\"Stackit.EmbeddingWorker\",queue=\"{queueName}-backfill\"}}", text, StringComparison.Ordinal);
        Assert.InRange(Value(text, "embedding_worker_queue_poll_age_seconds", $"queue=\"{queueName}\""), 0, 5);
        Assert.Contains("embedding_worker_messages_in_flight", text, StringComparison.Ordinal);
        Assert.Contains("embedding_worker_claimed_bytes_held", text, StringComparison.Ordinal);
        // All settled: nothing waits between the stages.
        foreach (var channel in new[] { "jobs", "deletions", "chunks", "batches", "copy_chunks", "copy_batches", "embedded" })
        {
            Assert.Contains($"embedding_worker_stage_waiting{{otel_scope_name=\"Stackit.EmbeddingWorker\",channel=\"{channel}\"}} 0", text, StringComparison.Ordinal);
        }
        // What an on-call reads beside the counts: how long jobs waited and took to become searchable, Qdrant's
        // calls by operation, the circuits, and which version runs.
        Assert.Equal(jobs + 1, Value(text, "embedding_worker_job_queue_duration_seconds_count", $"queue=\"{queueName}\""));
        Assert.Equal(jobs, Value(text, "embedding_worker_job_searchable_duration_seconds_count", $"queue=\"{queueName}\""));
        Assert.True(Value(text, "db_client_operation_duration_seconds_count", "db_operation_name=\"Upsert\"") >= 1);
        Assert.Contains("db_system_name=\"qdrant\"", text, StringComparison.Ordinal);
        Assert.Equal(0, Value(text, "embedding_worker_circuit_open", "dependency=\"embeddings\""));
        Assert.Contains("embedding_worker_circuit_open{otel_scope_name=\"Stackit.EmbeddingWorker\",dependency=\"qdrant\"} 0", text, StringComparison.Ordinal);
        Assert.Equal(1, Value(text, "embedding_worker_build_info", "version=\""));
        Assert.DoesNotContain(FakeEmbeddingServer.ApiKey, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alerts_and_dashboard_name_only_metrics_a_running_worker_exports()
    {
        await RenderedChart.SkipUnlessAvailableAsync();
        const int jobs = 3;
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var (queueName, port) = await PrepareAsync(jobs);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Management:QueueDepthInterval"] = "00:00:01";
        await using var app = WorkerHost.BuildWithManagement(settings, port);
        await app.StartAsync(Ct);
        string text;
        do
        {
            await Task.Delay(200, Ct);
            text = await http.GetStringAsync("/metrics", Ct);
        }
        while (Value(text, "embedding_worker_jobs_stored_total") < jobs || !text.Contains("embedding_worker_queue_depth", StringComparison.Ordinal));
        await app.StopAsync(Ct);
        var exported = SampleLine().Matches(text).Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.Ordinal);

        var documents = await RenderedChart.RenderAsync("secrets:\n  apiKey: sk-test\nserviceMonitor:\n  enabled: true\nalerts:\n  enabled: true\ndashboard:\n  enabled: true\n");
        var rules = documents.Single(d => d.Kind == "PrometheusRule").At("spec.groups.0.rules")!.AsArray()
            .Select(r => ((string)r!["alert"]!, (string)r["expr"]!)).ToList();
        var dashboard = System.Text.Json.Nodes.JsonNode.Parse((string)documents.Single(d => d.Kind == "ConfigMap" && d.Source.EndsWith("dashboard.yaml", StringComparison.Ordinal))
            .At("data")!["stackit-embedding-worker.json"]!)!;
        var panels = dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray().Select(t => ((string)p["title"]!, (string)t!["expr"]!))).ToList();
        Assert.Equal(9, rules.Count);
        Assert.Equal(8, dashboard["panels"]!.AsArray().Count);

        var missing = rules.Concat(panels)
            .SelectMany(e => MetricName().Matches(e.Item2).Select(m => (Where: e.Item1, Name: m.Value)))
            .Where(n => !exported.Contains(n.Name))
            .Select(n => $"{n.Where}: {n.Name}")
            .Distinct()
            .ToList();
        Assert.True(missing.Count == 0, "Named but not exported: " + string.Join("; ", missing));
    }

    [Fact]
    public async Task Readiness_fails_while_qdrant_is_down_too_old_or_silent_about_its_version_and_liveness_does_not()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var (queueName, port) = await PrepareAsync(jobs: 0);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        await using var app = WorkerHost.BuildWithManagement(settings, port);
        await app.StartAsync(Ct);

        var ready = await http.GetAsync("/readyz", Ct);
        var readyText = await ready.Content.ReadAsStringAsync(Ct);
        qdrant.Store.Down = true;
        var notReady = await http.GetAsync("/readyz", Ct);
        var notReadyText = await notReady.Content.ReadAsStringAsync(Ct);
        var live = await http.GetAsync("/healthz", Ct);
        qdrant.Store.Down = false;
        qdrant.Store.Version = "1.15.3";
        var old = await http.GetAsync("/readyz", Ct);
        var oldText = await old.Content.ReadAsStringAsync(Ct);
        qdrant.Store.Version = "";
        var hidden = await http.GetAsync("/readyz", Ct);
        var hiddenText = await hidden.Content.ReadAsStringAsync(Ct);
        await app.StopAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.StartsWith("healthy", readyText, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("qdrant: unhealthy (Qdrant does not answer (Unavailable))", notReadyText, StringComparison.Ordinal);
        // Which dependency, never its error text: that names hosts and ports to whoever reaches the port.
        Assert.DoesNotContain(qdrant.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), notReadyText, StringComparison.Ordinal);
        Assert.Contains("queue: healthy", notReadyText, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, old.StatusCode);
        Assert.Contains("qdrant: unhealthy (Qdrant 1.15.3 is older than 1.15.4, which the worker needs", oldText, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, hidden.StatusCode);
        Assert.Contains("Set Qdrant:AssumeVersion", hiddenText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Liveness_fails_when_messages_are_held_and_nothing_moves_while_the_dependencies_answer()
    {
        // An endpoint call that hangs without failing (no error, no timeout within reach): nothing settles, no
        // circuit opens. Before, /healthz answered 200 whatever happened, so such a worker was never restarted.
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.Latency = TimeSpan.FromMinutes(10);
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var (queueName, port) = await PrepareAsync(jobs: 2);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Embeddings:Timeout"] = "00:10:00";
        settings["Management:LivenessThreshold"] = "00:00:02";
        await using var app = WorkerHost.BuildWithManagement(settings, port);
        await app.StartAsync(Ct);

        var live = await http.GetAsync("/healthz", Ct);
        var firstText = await live.Content.ReadAsStringAsync(Ct);
        var response = await UntilNotOkAsync(http, "/healthz");
        var text = await response.Content.ReadAsStringAsync(Ct);
        await app.StopAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("pipeline: unhealthy", text, StringComparison.Ordinal);
        Assert.Contains("messages held and no progress", text, StringComparison.Ordinal);
        Assert.DoesNotContain("unhealthy", firstText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_bind_address_the_port_listens_there_only()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var (queueName, port) = await PrepareAsync(jobs: 0);
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Management:BindAddress"] = "127.0.0.2";
        await using var app = WorkerHost.BuildWithManagement(settings, port);
        await app.StartAsync(Ct);

        using var http = new HttpClient();
        var there = await http.GetAsync($"http://127.0.0.2:{port}/healthz", Ct);
        var elsewhere = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://127.0.0.1:{port}/healthz", Ct));
        await app.StopAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, there.StatusCode);
        Assert.NotNull(elsewhere);
    }

    [Fact]
    public async Task Readiness_fails_while_a_circuit_is_open()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        embeddings.Down = true;
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var (queueName, port) = await PrepareAsync(jobs: 6);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Embeddings:MaxRetries"] = "1";
        settings["Batching:MaxInputsPerRequest"] = "1";
        settings["Circuit:FailureThreshold"] = "2";
        settings["Circuit:BreakDuration"] = "00:01:00";
        settings["Management:LivenessThreshold"] = "00:00:01";
        await using var app = WorkerHost.BuildWithManagement(settings, port);
        await app.StartAsync(Ct);

        var response = await UntilNotOkAsync(http, "/readyz");
        var text = await response.Content.ReadAsStringAsync(Ct);
        // Held messages that cannot move while the endpoint is down: no reason to restart the worker.
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        var live = await http.GetAsync("/healthz", Ct);
        var liveText = await live.Content.ReadAsStringAsync(Ct);
        await app.StopAsync(Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("circuits: unhealthy (the embeddings endpoint circuit is open)", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Contains("pipeline: healthy (waiting for a dependency)", liveText, StringComparison.Ordinal);
    }

    /// <summary>The first answer of <paramref name="path"/> that is not 200, or the last 200 after 30 s.</summary>
    private static async Task<HttpResponseMessage> UntilNotOkAsync(HttpClient http, string path)
    {
        HttpResponseMessage response;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Task.Delay(100, Ct);
            response = await http.GetAsync(path, Ct);
        }
        while (response.StatusCode == HttpStatusCode.OK && DateTime.UtcNow < deadline);
        return response;
    }

    private async Task<(string Queue, int Port)> PrepareAsync(int jobs)
    {
        var queueName = AzuriteFixture.UniqueQueueName("mgmt");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        for (var i = 0; i < jobs; i++)
        {
            await queue.SendMessageAsync($$"""{"id":"doc-{{i}}","text":"document {{i}} about valves and pumps"}""", Ct);
        }
        return (queueName, FreePort.OnLoopback());
    }

    /// <summary>The sum of a Prometheus series' samples whose labels contain <paramref name="label"/>.</summary>
    private static double Value(string exposition, string series, string label = "") =>
        SampleLine().Matches(exposition)
            .Where(m => m.Groups["name"].Value == series && m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    /// <summary>A series the worker exports, as a rule or panel names it (kube-state-metrics' kube_* series are not the worker's).</summary>
    [GeneratedRegex(@"\b(embedding_worker|db_client)_[a-z_]+\b")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"^(?<name>[a-z_]+)(?:\{(?<labels>[^}]*)\})? (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();
}

[CollectionDefinition(nameof(ManagementEndpointsTests), DisableParallelization = true)]
public sealed class ManagementEndpointsCollection;
