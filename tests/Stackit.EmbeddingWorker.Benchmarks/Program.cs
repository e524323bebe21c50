using System.Globalization;
using Stackit.EmbeddingWorker.Benchmarks;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Testing.QueueStandIn;

// Runs the real worker (its own process) and a naive baseline client against Azurite (or the queue stand-in), the simulated endpoint
// and the Qdrant stand-in, side by side in one run, and prints one table. See docs/benchmark.md.
if (args is ["naive-client"])
{
    await NaiveClient.RunAsync();
    return;
}
if (args is ["plain-client"])
{
    await PlainClient.RunAsync();
    return;
}

var settings = BenchmarkSettings.Parse(args);
await WorkerBuild.PrepareAsync(settings.Worker);
// Sized so that the endpoint, not Azurite, is the limit: about 100 short documents a second at capacity.
var model = new EndpointModel(Slots: 4, BaseLatency: TimeSpan.FromMilliseconds(50), PerToken: TimeSpan.FromTicks(8_000),
    MaxTokensPerRequest: 4_096, MaxInputsPerRequest: 128, Dimensions: 4_096);

await using var azurite = new AzuriteProcess();
await using var queueStandIn = settings.QueueStandIn ? await QueueStandInServer.StartAsync() : null;
QueueService queues;
if (queueStandIn is not null)
{
    queues = new QueueService("The queue stand-in", queueStandIn.ConnectionString, queueStandIn.Queue);
}
else
{
    await azurite.StartAsync();
    queues = new QueueService("Azurite", azurite.ConnectionString, azurite.Queue);
}
await using var endpoint = await SimulatedEndpoint.StartAsync();
await using var qdrant = await QdrantStandInServer.StartAsync();
// Every run writes new documents, so no vector is ever read back: the stand-in checks them and keeps only the payload.
qdrant.Store.KeepVectors = false;
var runner = new BenchmarkRunner(queues, endpoint, qdrant, settings);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Simulated endpoint: {model.Slots} slots, {model.BaseLatency.TotalMilliseconds} ms + {model.PerToken.TotalMicroseconds} µs/token, ≤ {model.MaxTokensPerRequest} tokens and ≤ {model.MaxInputsPerRequest} inputs a request, {model.Dimensions} dimensions; capacity {model.CapacityTokensPerSecond:F0} tokens/s."));
Console.WriteLine($"Worker: {WorkerBuild.Description}.");
Console.WriteLine($"Queue: {(settings.QueueStandIn ? "the in-process queue stand-in (not Azurite)" : $"Azurite {AzuriteProcess.Version}")}. Warm-up {settings.Warmup.TotalSeconds} s, measured window {settings.Window.TotalSeconds} s per run; client logs in {settings.LogDirectory}.");

var results = new List<RunResult>();
foreach (var workload in new[] { Workload.Short, Workload.Mixed, Workload.Long })
{
    if (!settings.Runs(workload.Name))
    {
        continue;
    }
    foreach (var client in settings.ThroughputClients)
    {
        Console.WriteLine($"… {workload.Name} / {client}");
        results.Add(await runner.RunAsync(workload.Name, workload, client, model));
    }
}

if (settings.Runs("budget"))
{
    // Half the capacity as the endpoint's (and the worker's) minute budget: the worker should spend it all
    // without being refused; the naive client has no budget and bounces off the 429s.
    var tpm = (int)(model.CapacityTokensPerSecond * 60 / 2);
    var budgeted = model with { TokensPerMinute = tpm, RequestsPerMinute = 600 };
    foreach (var client in settings.ThroughputClients)
    {
        Console.WriteLine($"… budget (mixed, {tpm} TPM, 600 RPM) / {client}");
        results.Add(await runner.RunAsync("mixed, TPM budget", Workload.Mixed, client, budgeted, "ratio = share of the TPM budget used"));
    }
}

if ((settings.Runs("replicas") || settings.Runs("replicas-scale") || settings.Runs("replicas-headers")) && settings.QueueStandIn)
{
    Console.WriteLine("… replicas: skipped on the queue stand-in (the fleet ledger needs Azurite's blobs)");
}
else if (settings.Runs("replicas") || settings.Runs("replicas-scale") || settings.Runs("replicas-headers"))
{
    // The project's budget (half the capacity, bursts of two seconds' worth, as STACKIT allows short bursts) shared
    // by 1, 2 and 4 worker processes, and by a fleet that grows and shrinks in the window; beside each, the same
    // fleet with every replica using the whole budget, as replicas did before they shared it.
    var tpm = (int)(model.CapacityTokensPerSecond * 60 / 2);
    var budgeted = model with { TokensPerMinute = tpm, RequestsPerMinute = 600 };
    // The last row: the replicas are configured with twice the project's budget; the endpoint declares its limit in
    // x-ratelimit headers, and the replicas follow it.
    foreach (var (count, shared, scale, factor) in new[]
    {
        (1, true, false, 1), (2, true, false, 1), (2, false, false, 1), (4, true, false, 1), (4, false, false, 1),
        (2, true, true, 1), (2, false, true, 1), (4, true, false, 2),
    }.Where(r => settings.Runs("replicas") || (settings.Runs("replicas-scale") && r.Item3) || (settings.Runs("replicas-headers") && r.Item4 > 1)))
    {
        var scenario = $"replicas {count}{(scale ? " ±1" : "")}{(factor > 1 ? $", budget set {factor}× too high, x-ratelimit headers" : "")}";
        Console.WriteLine($"… {scenario} ({tpm} TPM, 600 RPM) / {(shared ? "shared" : "each the whole budget")}");
        results.Add(await runner.RunFleetAsync(scenario, Workload.Mixed, budgeted with { RateLimitHeaders = factor > 1 }, count, shared, scale, factor));
    }
}

var limiterRows = settings.Runs("limiter") || settings.Runs("limiter-sliding") || settings.Runs("limiter-faults") || settings.Runs("limiter-kill") || settings.Runs("limiter-start");
if (limiterRows && settings.QueueStandIn)
{
    Console.WriteLine("… limiter: skipped on the queue stand-in (the fleet ledger needs Azurite's blobs)");
}
else if (limiterRows)
{
    // One project budget (half the capacity) counted as a refilling bucket with bursts of two seconds' worth, or over a
    // strict sliding 60 s window; fleets started together, scaled from zero, and with a replica killed and replaced.
    // Each row measured from the first start for two minutes; the first minute is the one a simultaneous start risks.
    var tpm = (int)(model.CapacityTokensPerSecond * 60 / 2);
    var length = TimeSpan.FromMinutes(2);
    var zero = TimeSpan.Zero;
    var fleets = new (string Name, (TimeSpan, FleetEvent)[] Events)[]
    {
        ("4 started together", [(zero, FleetEvent.Start), (zero, FleetEvent.Start), (zero, FleetEvent.Start), (zero, FleetEvent.Start)]),
        ("0 → 4 (1, then 3 more at 15 s)", [(zero, FleetEvent.Start), (TimeSpan.FromSeconds(15), FleetEvent.Start), (TimeSpan.FromSeconds(15), FleetEvent.Start), (TimeSpan.FromSeconds(15), FleetEvent.Start)]),
        ("3 together, one SIGKILLed at 60 s and replaced", [(zero, FleetEvent.Start), (zero, FleetEvent.Start), (zero, FleetEvent.Start), (TimeSpan.FromSeconds(60), FleetEvent.Kill), (TimeSpan.FromSeconds(60), FleetEvent.Start)]),
    };
    var variants = settings.Runs("limiter-compare")
        ? new (string Name, Dictionary<string, string> Settings)[] { ("defaults", []), ("TargetUtilization 1.0", new() { ["Fleet__TargetUtilization"] = "1.0" }) }
        : [("defaults", [])];
    Console.WriteLine($"Limiter ({tpm} TPM, 600 RPM shared by the fleet; Fleet:MaxReplicas 4):");
    // limiter-kill: the kill-and-replace fleet alone, under both limiter models; limiter-start: the simultaneous start alone.
    var killOnly = settings.Runs("limiter-kill") && !settings.Runs("limiter");
    var startOnly = settings.Runs("limiter-start") && !settings.Runs("limiter");
    foreach (var sliding in settings.Runs("limiter") || killOnly || startOnly ? new[] { false, true } : settings.Runs("limiter-sliding") ? [true] : [])
    {
        var chosen = fleets.Where((f, i) => !(killOnly || startOnly) || (killOnly && f.Events.Any(e => e.Item2 == FleetEvent.Kill)) || (startOnly && i == 0));
        foreach (var (name, events) in chosen)
        {
            foreach (var (variant, overrides) in variants)
            {
                var scenario = $"{(sliding ? "sliding 60 s window" : "refilling bucket")}, {name}{(variants.Length > 1 ? $", {variant}" : "")}";
                Console.WriteLine(await runner.RunLimiterAsync(scenario, model with { TokensPerMinute = tpm, RequestsPerMinute = 600, SlidingWindow = sliding }, events, length, overrides));
            }
        }
    }
    if (settings.Runs("limiter-faults"))
    {
        // One replica alone at the whole budget while 5 % of admitted requests fail: the window counts their tokens,
        // so a budget charged once per request would run ahead of it; the worker charges every retry.
        Console.WriteLine(await runner.RunLimiterAsync("sliding 60 s window, 1 alone, 5 % of admitted requests failing (500)",
            model with { TokensPerMinute = tpm, RequestsPerMinute = 600, SlidingWindow = true, FaultRate = 0.05 }, [(zero, FleetEvent.Start)], length));
    }
}

if (settings.Runs("cpu-long") || settings.Runs("cpu-short"))
{
    // An endpoint far faster than this machine's two cores: the client sets the pace, and its CPU per embedding is
    // what it costs to run, not its idle overhead spread over the few embeddings a slow endpoint lets through.
    // The JIT keeps optimizing hot code for about a minute under this load: measure after it, in the steady state.
    var cpuWarmup = settings.Warmup > TimeSpan.FromSeconds(60) ? settings.Warmup : TimeSpan.FromSeconds(60);
    var fast = model with { Slots = 32, BaseLatency = TimeSpan.FromMilliseconds(20), PerToken = TimeSpan.Zero };
    foreach (var workload in new[] { Workload.Long, Workload.Short }.Where(w => settings.Runs("cpu-" + w.Name)))
    {
        foreach (var client in settings.Clients)
        {
            Console.WriteLine($"… CPU ({workload.Name}, fast endpoint) / {client}");
            results.Add(await runner.RunAsync($"{workload.Name}, fast endpoint", workload, client, fast, "ratio and slots busy do not apply", cpuWarmup));
        }
    }
}

Console.WriteLine();
Console.WriteLine(ReportTable.Render(results));

if (settings.Runs("latency"))
{
    // Two workers side by side, each on its own queue: the default polling backoff and the former default (1 min).
    Console.WriteLine($"Freshness (enqueue until the first point is stored): one short document a second for a minute, then one after {settings.Idle.TotalSeconds:F0} s idle:");
    endpoint.Reset(model);
    var runs = new[] { ((TimeSpan?)null, "default Queue:MaxPollingInterval (10 s)"), (TimeSpan.FromMinutes(1), "Queue:MaxPollingInterval 1 min") };
    var latencies = await Task.WhenAll(runs.Select(r => runner.LatencyAsync(model, 60, settings.Idle, r.Item1)));
    for (var i = 0; i < runs.Length; i++)
    {
        Console.WriteLine($"- {runs[i].Item2}: steady {BenchmarkRunner.Describe(latencies[i].SteadySeconds)}; " +
            string.Create(CultureInfo.InvariantCulture, $"first document after {settings.Idle.TotalSeconds:F0} s idle: {latencies[i].AfterIdleSeconds:F2} s"));
    }
}

if (settings.Runs("backfill") || settings.Runs("backfill-layout"))
{
    // 25,000 documents of 4 chunks, past the issue's "at least 20,000 chunks": a copy of 20,000 lasts a second or two, which
    // on a worker started seconds before is mostly the JIT compiling its copy path, not the rate a nightly run copies at.
    // backfill-layout: rows (c) and (a) alone.
    Console.WriteLine("Backfill (a source of 100,000 chunks of 256 dimensions in the Qdrant stand-in, one worker process copying pages):");
    // Row (b) measures a share of a rate budget, which a replica learns from the fleet ledger: without Azurite's blobs it
    // holds 1/Fleet:MaxReplicas of it (and says so in its log), so on the queue stand-in (b) measured that quarter.
    foreach (var line in await runner.BackfillAsync(model, documents: 25_000, chunksPerDocument: 4, migration: settings.Runs("backfill") && !settings.QueueStandIn))
    {
        Console.WriteLine(line);
    }
}

if ((settings.Runs("backfill") || settings.Runs("backfill-migration")) && settings.QueueStandIn)
{
    Console.WriteLine("- (b) skipped on the queue stand-in (the fleet ledger needs Azurite's blobs; without it a replica holds 1/Fleet:MaxReplicas of the budget)");
}
else if (settings.Runs("backfill-migration") && !settings.Runs("backfill"))
{
    // Row (b) of the backfill scenario alone, for trying its settings.
    Console.WriteLine("Backfill, row (b) only (a source of 5,000 chunks of 256 dimensions in the Qdrant stand-in, one worker process):");
    Console.WriteLine(await runner.MigrationAsync(model, BenchmarkRunner.MigrationDocuments, chunksPerDocument: 4));
}

if (settings.Runs("backlog"))
{
    Console.WriteLine("Peak RSS of the worker by backlog (short texts, same run length):");
    foreach (var backlog in new[] { 5_000, settings.Backlog })
    {
        var (rss, enqueue, queued) = await runner.PeakRssAsync(backlog, model);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"- {queued,7} jobs queued (of {backlog} asked): peak RSS {rss:F0} MiB (enqueued in {enqueue:F0} s)"));
    }
}
