using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// The <c>backfill</c> scenario: a source collection of many chunks (written straight into the Qdrant stand-in as the
/// worker writes them, with the model record), one worker process to copy pages, and the <c>backfill</c> command in a
/// process of its own: (c) the nightly run with nothing changed, (a) a layout-only migration (HNSW m 16 → 32) beside a
/// plain scroll-and-upsert loop against the same stand-in in the same run. The simulated endpoint answers every input
/// with one vector, so the recall check runs with <c>Backfill:MinSelfHitRate</c> 0 (it costs its sample, it proves nothing here).
/// </summary>
internal sealed partial class BenchmarkRunner
{
    private const string BenchModel = "bench/e5-like";
    private const int BackfillDimensions = 256;
    private const int RecallSample = 20;

    /// <summary>Row (b)'s source (5,000 chunks): its figures are shares of a budget over a window, not of the source.</summary>
    internal const int MigrationDocuments = 1_250;

    public async Task<IReadOnlyList<string>> BackfillAsync(EndpointModel model, int documents, int chunksPerDocument, bool migration = true)
    {
        var bench = model with { Dimensions = BackfillDimensions };
        endpoint.Reset(bench);
        qdrant.Store.KeepVectors = true; // copies read vectors back from the source
        try
        {
            var alias = "bf" + Guid.NewGuid().ToString("N")[..8];
            var client = qdrant.CreateClient();
            var options = new QdrantOptions { Endpoint = qdrant.Endpoint, Collection = alias };
            var chunks = await SeedSourceAsync(client, alias, options, documents, chunksPerDocument);
            await WarmStandInAsync(client, alias + "_v1", alias + "_warm", options);
            var queue = queues.Queue(alias);
            await queue.CreateAsync();
            var managementPort = FreePort.OnLoopback();
            var environment = WorkerEnvironment(queue.Name, alias, bench, managementPort);
            environment["Backfill__MarkerRefresh"] = "00:00:01";
            environment["Backfill__VerifySample"] = RecallSample.ToString(CultureInfo.InvariantCulture);
            environment["Backfill__MinSelfHitRate"] = "0";
            PassTrialSettings(environment);
            await using var worker = ClientProcess.Start(WorkerDll, [], environment, Path.Combine(settings.LogDirectory, "backfill-worker.log"));
            await Task.Delay(TimeSpan.FromSeconds(3));

            var lines = new List<string>();
            var (unchanged, _) = await RunCommandAsync("backfill-unchanged", environment, alias + "_v2", chunks, worker);
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"- (c) unchanged re-run: {unchanged.Tokens:N0} tokens embedded, {unchanged.Upserts:N0} upserts, {unchanged.Created} collections created, {unchanged.Seconds:F1} s (exit {unchanged.Exit})"));

            environment["Qdrant__HnswM"] = "32";
            var origin = Stopwatch.GetTimestamp();
            CommandRun layout;
            double copyRate;
            // The worker's gauges every 100 ms while it copies (the copy takes seconds): which stage the copy waited on.
            await using (var sampler = new WorkerSampler(managementPort, intervalMs: 100))
            {
                sampler.Start();
                (layout, copyRate) = await RunCommandAsync("backfill-layout", environment, alias + "_v2", chunks, worker);
                sampler.Write(Path.Combine(settings.LogDirectory, "backfill-layout-worker.gauges.csv"), origin);
            }
            var plainRate = await PlainCopyRateAsync(client, alias + "_v1", alias + "_plain", options);
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"- (a) layout-only migration (HNSW m 16 → 32) on a worker that has copied nothing yet: {layout.Tokens:N0} tokens in {layout.Inputs:N0} inputs embedded (recall sample {RecallSample} chunks); copy {copyRate:F0} points/s vs plain scroll-and-upsert loop {plainRate:F0} points/s (ratio {copyRate / plainRate:F2}), {layout.PointCalls * 128.0 / chunks:F1} calls on points per 128 copied (the loop: 1); the worker's CPU while it copied {layout.WorkerCpu.TotalSeconds:F1} s, {layout.WorkerJit.TotalSeconds:F1} s of it compiling hot code again; whole command {layout.Seconds:F1} s (exit {layout.Exit})"));
            // The same migration twice more on the same worker (m 32 → 48 → 64), whose copy path is compiled by now, as a
            // replica's is after its first minutes: a nightly run copies for minutes, so its first seconds' compiling are not
            // its rate. Each copy has its loop right after it; the row pools both pairs, as one pair's loop alone has measured
            // anywhere from 17,000 to 29,000 points/s on this machine (the stand-in's collections of 100,000 points and
            // their garbage collections in this process).
            var warm = new List<(CommandRun Run, double Copy, double Plain)>();
            foreach (var (m, target, source) in new[] { ("48", "_v3", "_v2"), ("64", "_v4", "_v3") })
            {
                environment["Qdrant__HnswM"] = m;
                var (again, warmRate) = await RunCommandAsync($"backfill-layout-m{m}", environment, alias + target, chunks, worker);
                warm.Add((again, warmRate, await PlainCopyRateAsync(client, alias + source, alias + "_plain" + m, options)));
            }
            string Both(Func<(CommandRun Run, double Copy, double Plain), string> each) => string.Join(" and ", warm.Select(each));
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"- (a) the same twice more (m 32 → 48 → 64) on that worker, its copy path compiled: {Both(w => w.Run.Tokens.ToString("N0", CultureInfo.InvariantCulture))} tokens embedded; copy {Both(w => w.Copy.ToString("F0", CultureInfo.InvariantCulture))} points/s vs the loop right after each {Both(w => w.Plain.ToString("F0", CultureInfo.InvariantCulture))} points/s (ratio {warm.Sum(w => w.Copy) / warm.Sum(w => w.Plain):F2} over both pairs; {Both(w => (w.Copy / w.Plain).ToString("F2", CultureInfo.InvariantCulture))} each); the worker's CPU while it copied {Both(w => w.Run.WorkerCpu.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture))} s, {Both(w => w.Run.WorkerJit.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture))} s of it compiling hot code again; whole command {Both(w => w.Run.Seconds.ToString("F1", CultureInfo.InvariantCulture))} s (exit {Both(w => $"{w.Run.Exit}")})"));
            // (b) on its own worker, with (a)'s worker stopped and its collections gone (the stand-in runs in this process,
            // and holds (a)'s collections of 100,000 points of 256 floats each): nothing of (a) runs beside (b)'s measurement.
            await worker.DisposeAsync();
            foreach (var collection in qdrant.Store.CollectionNames.Where(c => c.StartsWith(alias, StringComparison.Ordinal)).ToList())
            {
                qdrant.Store.DeleteCollection(collection);
            }
            if (migration)
            {
                lines.Add(await MigrationUnderBudgetAsync(model, MigrationDocuments, chunksPerDocument));
            }
            return lines;
        }
        finally
        {
            qdrant.Store.KeepVectors = false;
        }
    }

    /// <summary>Row (b) alone: <see cref="MigrationUnderBudgetAsync"/>.</summary>
    public async Task<string> MigrationAsync(EndpointModel model, int documents, int chunksPerDocument)
    {
        qdrant.Store.KeepVectors = true; // the plan's calibration samples chunks with a query
        try
        {
            return await MigrationUnderBudgetAsync(model, documents, chunksPerDocument);
        }
        finally
        {
            qdrant.Store.KeepVectors = false;
        }
    }

    /// <summary>
    /// (b) A migration to another model of another size at a token budget of half the endpoint's capacity (the worker and
    /// the endpoint both know it): the share of the budget the copy uses while live work is idle (30 s, from 20 s after
    /// the first copied point, past the start of the model's budget), then live
    /// freshness (enqueue until the first point is stored) at one short document a second beside it (30 s, after 10 s
    /// of them in which the intake's polling, backed off while the live queue was idle, catches up). The
    /// migration is aborted after the windows (a full one would take as long as its tokens at the budget).
    /// </summary>
    private async Task<string> MigrationUnderBudgetAsync(EndpointModel model, int documents, int chunksPerDocument)
    {
        var tpm = (int)(model.CapacityTokensPerSecond * 60 / 2);
        var budgeted = model with { Dimensions = BackfillDimensions, TokensPerMinute = tpm, RequestsPerMinute = 600 };
        endpoint.Reset(budgeted);
        var alias = "mg" + Guid.NewGuid().ToString("N")[..8];
        var client = qdrant.CreateClient();
        await SeedSourceAsync(client, alias, new QdrantOptions { Endpoint = qdrant.Endpoint, Collection = alias }, documents, chunksPerDocument);
        var queue = queues.Queue(alias);
        await queue.CreateAsync();
        var managementPort = FreePort.OnLoopback();
        var environment = WorkerEnvironment(queue.Name, alias, budgeted, managementPort);
        environment["Backfill__MarkerRefresh"] = "00:00:01";
        environment.Remove("Queue__MaxInFlightMessages"); // the worker's own default, as for freshness
        PassTrialSettings(environment);
        var origin = Stopwatch.GetTimestamp();
        await using var worker = ClientProcess.Start(WorkerDll, [], environment, Path.Combine(settings.LogDirectory, "migration-worker.log"));
        await using var sampler = new WorkerSampler(managementPort);
        sampler.Start();
        await Task.Delay(TimeSpan.FromSeconds(3));
        await using var command = ClientProcess.Start(WorkerDll, ["backfill", "--model", "bench/other", "--dimensions", "128", "--no-switch", "--poll", "00:00:01", "--timeout", "01:00:00"],
            environment, Path.Combine(settings.LogDirectory, "migration-command.log"));
        // The window starts once the copy is under way: the target holds points (pages enqueued, and taken by a replica
        // whose polling of the backfill queue had backed off while it was empty), and a few heartbeats more.
        var target = alias + "_v2";
        var waited = Stopwatch.StartNew();
        while (qdrant.Store.PointCount(target) == 0 && waited.Elapsed < TimeSpan.FromMinutes(2))
        {
            await Task.Delay(100);
        }
        // The first seconds of a model's budget are a replica's start (issue 30: a share of 1/Fleet:MaxReplicas until it
        // has seen the ledger twice, then the whole): the window measures the hours after it.
        await Task.Delay(TimeSpan.FromSeconds(20));

        var window = TimeSpan.FromSeconds(30);
        var idleFrom = Stopwatch.GetTimestamp();
        await Task.Delay(window);
        var idleTo = Stopwatch.GetTimestamp();
        var random = new Random(11);
        var pending = new ConcurrentDictionary<string, long>();
        var freshness = new ConcurrentDictionary<string, double>();
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested || !pending.IsEmpty)
            {
                foreach (var (id, sent) in pending)
                {
                    if (qdrant.Store.Retrieve(alias, [new Qdrant.Client.Grpc.PointId { Uuid = PointIds.For(alias, id, 0).ToString() }]).Count > 0 && pending.TryRemove(id, out _))
                    {
                        freshness[id] = Stopwatch.GetElapsedTime(sent).TotalSeconds;
                    }
                }
                await Task.Delay(10);
                if (stop.IsCancellationRequested && Stopwatch.GetElapsedTime(idleTo).TotalSeconds > window.TotalSeconds + 60)
                {
                    break;
                }
            }
        });
        var refused = endpoint.Served.Count(r => r.Status == 429);
        var sentAt = new ConcurrentDictionary<string, long>();
        // The first documents after the idle window wait for the intake's next poll, which backs off to
        // Queue:MaxPollingInterval (10 s) on an empty queue with or without a backfill; they are reported apart, and the
        // freshness beside the migration is that of the documents sent after one polling interval.
        var warmUp = (int)TimeSpan.FromSeconds(10).TotalSeconds;
        for (var i = 0; i < warmUp + (int)window.TotalSeconds; i++)
        {
            var id = $"live-{i}";
            var job = Workload.Short.Job(random, 0).Replace("\"short-0\"", $"\"{id}\"", StringComparison.Ordinal);
            pending[id] = sentAt[id] = Stopwatch.GetTimestamp();
            await queue.SendMessageAsync(job);
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        await stop.CancelAsync();
        await watcher;
        // The idle window, counted only now and by arrival (as the endpoint charges its budget and the limiter rows count):
        // the endpoint lists a request once it is answered, and a copy request of ~3,700 tokens is served for 3 s, so at the
        // window's end the last ones sent in it were not listed yet.
        var copies = endpoint.Served.Where(r => r.Status == 200 && r.Model == "bench/other" && r.Arrived > idleFrom && r.Arrived <= idleTo).OrderBy(r => r.Arrived).ToList();
        var share = copies.Sum(r => (long)r.Tokens) / (tpm * window.TotalMinutes);
        // The pace the worker sends at: the tokens of the requests that arrived between the first and the last arrival in
        // the window (the last one left out), over that time. Copy requests are large at this budget (one every 1.2–1.6 s),
        // so a fixed window's share moves by one request (about 5 points) with where its edges fall.
        var between = copies.Count > 1 ? Stopwatch.GetElapsedTime(copies[0].Arrived, copies[^1].Arrived) : TimeSpan.Zero;
        var wholeShare = between > TimeSpan.Zero ? copies.SkipLast(1).Sum(r => (long)r.Tokens) / (tpm * between.TotalMinutes) : double.NaN;
        var throttled = endpoint.Served.Count(r => r.Status == 429) - refused;
        var sorted = freshness.Where(f => int.Parse(f.Key[5..], CultureInfo.InvariantCulture) >= warmUp).Select(f => f.Value).Order().ToList();
        var first = freshness.GetValueOrDefault("live-0", double.NaN);
        // For looking into a result: the worker's gauges, each live document's enqueue time, and every request by model.
        sampler.Write(Path.Combine(settings.LogDirectory, "migration-worker.gauges.csv"), origin);
        File.WriteAllLines(Path.Combine(settings.LogDirectory, "migration-live.csv"),
            ["document,sent ms", .. sentAt.OrderBy(s => s.Value).Select(s => $"{s.Key},{Stopwatch.GetElapsedTime(origin, s.Value).TotalMilliseconds:F0}")]);
        WriteRequests(Path.Combine(settings.LogDirectory, "migration.requests.csv"), origin, Stopwatch.GetTimestamp());
        File.WriteAllText(Path.Combine(settings.LogDirectory, "migration.window.txt"), string.Create(CultureInfo.InvariantCulture,
            $"idle window {Stopwatch.GetElapsedTime(origin, idleFrom).TotalMilliseconds:F0} to {Stopwatch.GetElapsedTime(origin, idleTo).TotalMilliseconds:F0} ms"));

        await command.DisposeAsync();
        await using (var abort = ClientProcess.Start(WorkerDll, ["backfill", "--abort"], environment, Path.Combine(settings.LogDirectory, "migration-abort.log")))
        {
            await abort.ExitedWithinAsync(TimeSpan.FromMinutes(1));
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"- (b) migration to another model (bench/other, 128 dimensions) at a budget of {tpm:N0} tokens a minute: the copy used {share:P0} of it while live work was idle ({window.TotalSeconds:F0} s; sent at {wholeShare:P1} of it between the first and last request in it, {copies.Count} requests); live freshness beside it at 1 document/s: the first after the idle window {first:F1} s (the next poll), then {(sorted.Count > 0 ? Describe(sorted) : "no document stored")}{(pending.IsEmpty ? "" : $", {pending.Count} not stored")}; 429s from the endpoint meanwhile: {throttled}");
    }

    /// <summary>The settings of this program's environment that reach the worker and the command, for trying them.</summary>
    private static readonly string[] TrialSettings = ["Backfill__", "Qdrant__MaxConcurrentUpserts", "Qdrant__UpsertBatchSize", "Fleet__HeartbeatInterval", "Fleet__MemberTimeout", "Logging__", "DOTNET_"];

    /// <summary>
    /// Passes on the <see cref="TrialSettings"/> set in this program's environment, then every <c>WORKER_&lt;name&gt;</c>
    /// as <c>&lt;name&gt;</c>, which reaches the worker and the command alone: DOTNET_* set here change this program's own
    /// runtime too, and the Qdrant stand-in runs in it (WORKER_DOTNET_TieredPGO=0 tries the worker without).
    /// </summary>
    private static void PassTrialSettings(Dictionary<string, string> environment)
    {
        var variables = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Where(e => e.Value is string)
            .Select(e => (Key: (string)e.Key, Value: (string)e.Value!))
            .ToList();
        foreach (var (key, value) in variables.Where(e => TrialSettings.Any(prefix => e.Key.StartsWith(prefix, StringComparison.Ordinal))))
        {
            environment[key] = value;
        }
        foreach (var (key, value) in variables.Where(e => e.Key.StartsWith(WorkerOnly, StringComparison.Ordinal)))
        {
            environment[key[WorkerOnly.Length..]] = value;
        }
    }

    private const string WorkerOnly = "WORKER_";

    /// <summary>The source as the worker leaves it: <c>&lt;alias&gt;_v1</c> behind the alias, with the model record, its indexes and every chunk's payload and vector.</summary>
    private static async Task<int> SeedSourceAsync(Qdrant.Client.QdrantClient client, string alias, QdrantOptions options, int documents, int chunksPerDocument)
    {
        var source = alias + "_v1";
        await client.CreateCollectionAsync(CollectionLayout.Request(source, BackfillDimensions, options, model: new CollectionModel(BenchModel, BackfillDimensions, null, false)));
        foreach (var (field, type, indexParams) in CollectionLayout.Indexes(options))
        {
            await client.CreatePayloadIndexAsync(source, field, type, indexParams);
        }
        await client.CreateAliasAsync(alias, source);
        var random = new Random(7);
        var writtenAt = DateTimeOffset.UtcNow.AddHours(-1).ToString("O", CultureInfo.InvariantCulture);
        var batch = new List<PointStruct>(256);
        for (var d = 0; d < documents; d++)
        {
            for (var c = 0; c < chunksPerDocument; c++)
            {
                var text = $"Document {d}, part {c}: " + string.Join(' ', Enumerable.Range(0, 120).Select(_ => Words[random.Next(Words.Length)]));
                var vector = new float[BackfillDimensions];
                for (var i = 0; i < vector.Length; i++)
                {
                    vector[i] = (float)(random.NextDouble() - 0.5);
                }
                var point = new PointStruct { Id = new PointId { Uuid = PointIds.For(alias, $"doc-{d}", c).ToString() }, Vectors = vector };
                point.Payload[PayloadFields.DocumentId] = $"doc-{d}";
                point.Payload[PayloadFields.ChunkIndex] = c;
                point.Payload[PayloadFields.ChunkCount] = chunksPerDocument;
                point.Payload[PayloadFields.Text] = text;
                point.Payload[PayloadFields.ContentHash] = ContentHash.Of(BenchModel, text);
                point.Payload[PayloadFields.Model] = BenchModel;
                point.Payload[PayloadFields.EmbeddedAt] = writtenAt;
                batch.Add(point);
                if (batch.Count == batch.Capacity)
                {
                    await client.UpsertAsync(source, batch);
                    batch.Clear();
                }
            }
        }
        if (batch.Count > 0)
        {
            await client.UpsertAsync(source, batch);
        }
        return documents * chunksPerDocument;
    }

    private static readonly string[] Words = ["pump", "valve", "seal", "impeller", "bearing", "housing", "pressure", "flow", "check", "replace", "monthly", "hours", "oil", "level", "torque", "gasket"];

    /// <summary>
    /// What one run of the command cost; <see cref="PointCalls"/> counts every call on points (the command's and the
    /// replicas'), <see cref="WorkerCpu"/> the copying replica's CPU from the target's first point to its last and
    /// <see cref="WorkerJit"/> the part of it on the runtime's tiered-compilation thread.
    /// </summary>
    private sealed record CommandRun(int? Exit, double Seconds, long Tokens, long Inputs, int Upserts, int Created, int PointCalls, TimeSpan WorkerCpu, TimeSpan WorkerJit);

    /// <summary>
    /// Runs the <c>backfill</c> command to its end: what it cost the endpoint and Qdrant, and the rate at which the
    /// target filled (points a second from its first point to its last).
    /// </summary>
    private async Task<(CommandRun Run, double CopyRate)> RunCommandAsync(string name, Dictionary<string, string> environment, string target, int chunks, ClientProcess replica)
    {
        var tokensBefore = endpoint.Served.Where(s => s.Status == 200).Sum(s => (long)s.Tokens);
        var inputsBefore = endpoint.Served.Where(s => s.Status == 200).Sum(s => (long)s.Inputs);
        var upsertsBefore = qdrant.Store.UpsertCalls;
        var collectionsBefore = qdrant.Store.CollectionNames.Count;
        var callsBefore = qdrant.Store.Calls.ToDictionary(c => c.Key, c => c.Value);
        SettleHeap();
        var clock = Stopwatch.StartNew();
        await using var command = ClientProcess.Start(WorkerDll, ["backfill", "--poll", "00:00:00.500", "--timeout", "00:30:00"], environment, Path.Combine(settings.LogDirectory, name + ".log"));
        TimeSpan? first = null;
        TimeSpan? last = null;
        var progress = new List<string> { "ms,points in the target" };
        TimeSpan cpuFrom = default, jitFrom = default, cpuTo = default, jitTo = default;
        while (!command.HasExited)
        {
            var copied = qdrant.Store.PointCount(target);
            progress.Add(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalMilliseconds:F0},{copied}"));
            if (copied > 0 && first is null)
            {
                first = clock.Elapsed;
                (cpuFrom, jitFrom) = (replica.CpuTime, replica.JitCpuTime);
            }
            if (copied >= chunks && last is null)
            {
                last = clock.Elapsed;
                (cpuTo, jitTo) = (replica.CpuTime, replica.JitCpuTime);
            }
            await Task.Delay(100);
        }
        var exit = await command.ExitedWithinAsync(TimeSpan.FromSeconds(5));
        var run = new CommandRun(exit, clock.Elapsed.TotalSeconds,
            endpoint.Served.Where(s => s.Status == 200).Sum(s => (long)s.Tokens) - tokensBefore,
            endpoint.Served.Where(s => s.Status == 200).Sum(s => (long)s.Inputs) - inputsBefore,
            qdrant.Store.UpsertCalls - upsertsBefore,
            qdrant.Store.CollectionNames.Count - collectionsBefore,
            qdrant.Store.Calls.Where(c => !c.Key.StartsWith("Get+vectors", StringComparison.Ordinal)).Sum(c => c.Value - callsBefore.GetValueOrDefault(c.Key)),
            cpuTo - cpuFrom, jitTo - jitFrom);
        // For looking into a result: how the target filled, and the calls by method and kind of collection (the source's
        // reads with vectors included).
        File.WriteAllLines(Path.Combine(settings.LogDirectory, name + ".progress.csv"), progress);
        File.WriteAllLines(Path.Combine(settings.LogDirectory, name + ".calls.txt"), qdrant.Store.Calls
            .Select(c => (c.Key, Count: c.Value - callsBefore.GetValueOrDefault(c.Key))).Where(c => c.Count > 0)
            .OrderByDescending(c => c.Count).Select(c => $"{c.Key} {c.Count}")
            .Append(string.Create(CultureInfo.InvariantCulture, $"target's first point at {first?.TotalMilliseconds:F0} ms, last at {last?.TotalMilliseconds:F0} ms from the command's start")));
        var rate = first is { } from && last is { } to && to > from ? chunks / (to - from).TotalSeconds : 0;
        return (run, rate);
    }

    /// <summary>
    /// A full, compacting collection of this process's heap before a copy or the loop is timed, so that both start alike:
    /// the stand-in keeps every point of the collections in this process, and a collection the one before left running
    /// (or one due any moment) would otherwise land in whichever is timed next.
    /// </summary>
    private static void SettleHeap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    /// <summary>
    /// The baseline: scroll the source 256 points at a time with their vectors and upsert them into a new collection,
    /// which is dropped afterwards (the stand-in keeps every point in this process's memory, and its garbage collections
    /// grow with what it holds).
    /// </summary>
    private async Task<double> PlainCopyRateAsync(Qdrant.Client.QdrantClient client, string source, string copy, QdrantOptions options)
    {
        try
        {
            return await PlainCopyAsync(client, source, copy, options);
        }
        finally
        {
            qdrant.Store.DeleteCollection(copy);
        }
    }

    /// <summary>
    /// Runs every call a copy makes through the Qdrant stand-in once over the whole source before anything is timed:
    /// scroll and upsert (a plain copy), then per page of 128 points a retrieve of first chunks, a delete by the filter the
    /// ordering rule builds for stale tails, and a count. The stand-in runs in this process and compiles its code paths as
    /// they are first taken; Qdrant has nothing to compile. Without this, the first copy paid for the stand-in's
    /// compiling of the calls the loop does not make, on the same two cores (measured: the cold copy at 0.50 of the loop,
    /// and at 0.78 with this process's tiered PGO switched off, where switching off the worker's alone gave 0.56).
    /// </summary>
    private async Task WarmStandInAsync(Qdrant.Client.QdrantClient client, string source, string scratch, QdrantOptions options)
    {
        await PlainCopyAsync(client, source, scratch, options);
        PointId? offset = null;
        do
        {
            var page = await client.ScrollAsync(scratch, limit: 128, offset: offset, payloadSelector: true, vectorsSelector: false);
            var documents = page.Result.Select(p => p.Payload[PayloadFields.DocumentId].StringValue).Distinct().ToList();
            await client.RetrieveAsync(scratch, page.Result.Select(p => p.Id).ToList(), withPayload: true, withVectors: false);
            // A stale-tail delete as DocumentOrdering builds it, of tails no document has.
            var filter = new Filter();
            foreach (var document in documents)
            {
                var tail = VersionFilters.Replaceable(new OrderedWrite(document, null, DateTimeOffset.UtcNow));
                tail.Must.Add(Conditions.Range(PayloadFields.ChunkIndex, new Qdrant.Client.Grpc.Range { Gte = 1_000 }));
                filter.Should.Add(new Condition { Filter = tail });
            }
            await client.DeleteAsync(scratch, filter, wait: true);
            await client.CountAsync(scratch, filter);
            offset = page.NextPageOffset;
        }
        while (offset is not null);
        qdrant.Store.DeleteCollection(scratch);
    }

    private static async Task<double> PlainCopyAsync(Qdrant.Client.QdrantClient client, string source, string copy, QdrantOptions options)
    {
        await client.CreateCollectionAsync(CollectionLayout.Request(copy, BackfillDimensions, options));
        SettleHeap();
        var clock = Stopwatch.StartNew();
        var copied = 0;
        PointId? offset = null;
        do
        {
            var page = await client.ScrollAsync(source, limit: 256, offset: offset, payloadSelector: true, vectorsSelector: true);
            if (page.Result.Count > 0)
            {
                await client.UpsertAsync(copy, page.Result.Select(p => new PointStruct
                {
                    Id = p.Id,
                    Vectors = QdrantPointReader.VectorOf(p)!,
                    Payload = { p.Payload },
                }).ToList(), wait: true);
                copied += page.Result.Count;
            }
            offset = page.NextPageOffset;
        }
        while (offset is not null);
        return copied / clock.Elapsed.TotalSeconds;
    }
}
