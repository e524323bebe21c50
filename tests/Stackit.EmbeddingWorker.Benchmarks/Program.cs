using System.Globalization;
using Stackit.EmbeddingWorker.Benchmarks;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.Tests.Infrastructure.QdrantStandIn;

// Runs the real worker (its own process) and a naive baseline client against Azurite, the simulated endpoint
// and the Qdrant stand-in, side by side in one run, and prints one table. See README "Benchmark".
if (args is ["naive-client"])
{
    await NaiveClient.RunAsync();
    return;
}

var settings = BenchmarkSettings.Parse(args);
var model = new EndpointModel(Slots: 4, BaseLatency: TimeSpan.FromMilliseconds(50), PerToken: TimeSpan.FromTicks(2_000),
    MaxTokensPerRequest: 16_384, MaxInputsPerRequest: 512, Dimensions: 4_096);

await using var azurite = new AzuriteProcess();
await azurite.StartAsync();
await using var endpoint = await SimulatedEndpoint.StartAsync();
await using var qdrant = await QdrantStandInServer.StartAsync();
var runner = new BenchmarkRunner(azurite, endpoint, qdrant, settings);
var seconds = (settings.Warmup + settings.Window).TotalSeconds;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Simulated endpoint: {model.Slots} slots, {model.BaseLatency.TotalMilliseconds} ms + {model.PerToken.TotalMicroseconds} µs/token, ≤ {model.MaxTokensPerRequest} tokens and ≤ {model.MaxInputsPerRequest} inputs a request, {model.Dimensions} dimensions; capacity {model.CapacityTokensPerSecond:F0} tokens/s."));
Console.WriteLine($"Warm-up {settings.Warmup.TotalSeconds} s, measured window {settings.Window.TotalSeconds} s per run; client logs in {settings.LogDirectory}.");

var results = new List<RunResult>();
foreach (var (workload, tokensPerDoc) in new[] { (Workload.Short, 52.0), (Workload.Mixed, 820.0), (Workload.Long, 7_600.0) })
{
    if (!settings.Runs(workload.Name))
    {
        continue;
    }
    var jobs = JobsFor(model.CapacityTokensPerSecond / tokensPerDoc);
    foreach (var client in new[] { ClientKind.Worker, ClientKind.Naive })
    {
        Console.WriteLine($"… {workload.Name} / {client}: {jobs} jobs");
        results.Add(await runner.RunAsync(workload.Name, workload, client, model, jobs));
    }
}

if (settings.Runs("budget"))
{
    // Half the capacity as the endpoint's (and the worker's) minute budget: the worker should spend it all
    // without being refused; the naive client has no budget and bounces off the 429s.
    var tpm = (int)(model.CapacityTokensPerSecond * 60 / 2);
    var budgeted = model with { TokensPerMinute = tpm, RequestsPerMinute = 6_000 };
    var jobs = JobsFor(tpm / 60.0 / 820);
    foreach (var client in new[] { ClientKind.Worker, ClientKind.Naive })
    {
        Console.WriteLine($"… budget (mixed, {tpm} TPM) / {client}: {jobs} jobs");
        results.Add(await runner.RunAsync("mixed, TPM budget", Workload.Mixed, client, budgeted, jobs, "ratio = share of the TPM budget used"));
    }
}

Console.WriteLine();
Console.WriteLine(ReportTable.Render(results));

if (settings.Runs("backlog"))
{
    Console.WriteLine("Peak RSS of the worker by backlog (short texts, same run length):");
    foreach (var backlog in new[] { 5_000, settings.Backlog })
    {
        var (rss, enqueue) = await runner.PeakRssAsync(backlog, model);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"- {backlog,7} jobs queued: peak RSS {rss:F0} MiB (enqueued in {enqueue:F0} s)"));
    }
}

// Enough jobs that the backlog outlasts warm-up and window, plus what the worker holds in flight.
int JobsFor(double docsPerSecond) => (int)(docsPerSecond * seconds * 1.3) + BenchmarkRunner.WorkerMaxInFlight + 500;
