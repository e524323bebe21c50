using System.Diagnostics;
using System.Globalization;
using Azure.Storage.Queues;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;

namespace Stackit.EmbeddingWorker.Benchmarks;

internal enum ClientKind
{
    Worker,
    Naive,

    /// <summary>Only in the CPU scenarios: <see cref="PlainClient"/>.</summary>
    Plain,
}

/// <summary>
/// One run: fill a fresh queue, start the client process, let it warm up, measure a window, stop it. Rates
/// come from what the simulated endpoint served inside the window (a request running across an edge counts
/// in proportion), documents from the queue's shrinking length, CPU and memory from the client's process.
/// </summary>
internal sealed partial class BenchmarkRunner(QueueService queues, SimulatedEndpoint endpoint, QdrantStandInServer qdrant, BenchmarkSettings settings)
{
    public const int WorkerMaxInFlight = 1_024;

    // Azurite's cost per receive and delete grows with the queue's length (about 30 ms a delete at 10,000
    // messages, 2 ms at 100), so the backlog is kept short and topped up rather than enqueued all at once
    // (the same on the queue stand-in, whose costs do not grow, so the two runs compare).
    private const int Backlog = WorkerMaxInFlight + 600;
    private const int NaiveConcurrency = 8;

    /// <summary>The worker's build that every scenario runs (<see cref="WorkerBuild"/>).</summary>
    private static string WorkerDll => WorkerBuild.Dll;

    public async Task<RunResult> RunAsync(string scenario, Workload workload, ClientKind client, EndpointModel model, string note = "", TimeSpan? warmup = null)
    {
        var (queue, enqueued, stopFeeding, feeder) = await FedQueueAsync("bench", workload, model);
        using var feeding = stopFeeding;
        var collection = "bench" + Guid.NewGuid().ToString("N")[..8];
        var log = Path.Combine(settings.LogDirectory, $"{scenario}-{client}.log".ToLowerInvariant());

        var managementPort = FreePort.OnLoopback();
        await using var process = client switch
        {
            ClientKind.Worker => ClientProcess.Start(WorkerDll, [], WorkerEnvironment(queue.Name, collection, model, managementPort), log),
            ClientKind.Naive => ClientProcess.Start(typeof(BenchmarkRunner).Assembly.Location, ["naive-client"], NaiveEnvironment(queue.Name, collection), log),
            _ => ClientProcess.Start(typeof(BenchmarkRunner).Assembly.Location, ["plain-client"], PlainEnvironment(queue.Name, collection, model), log),
        };
        await using var sampler = new WorkerSampler(managementPort);
        if (client == ClientKind.Worker)
        {
            sampler.Start();
        }

        await Task.Delay(warmup ?? settings.Warmup);
        // Done = enqueued so far minus still queued (the queue's length counts leased messages too).
        var doneBefore = enqueued.Value - await ApproximateLengthAsync(queue);
        var cpuBefore = process.CpuTime;
        var jitBefore = process.JitCpuTime;
        var from = Stopwatch.GetTimestamp();
        await Task.Delay(settings.Window);
        var to = Stopwatch.GetTimestamp();
        var cpu = process.CpuTime - cpuBefore;
        var jit = process.JitCpuTime - jitBefore;
        var doneAfter = enqueued.Value - await ApproximateLengthAsync(queue);
        await stopFeeding.CancelAsync();
        await feeder;
        await endpoint.WaitForServiceInProgressAsync(TimeSpan.FromSeconds(30));
        var rss = process.PeakRssMiB;
        if (process.HasExited)
        {
            note += $" client exited early (see {log})";
        }
        await process.DisposeAsync();
        await queue.DeleteAsync();
        WriteRequests(Path.ChangeExtension(log, ".requests.csv"), from, to);
        if (client == ClientKind.Worker)
        {
            // The same origin as the request file, so the two line up when read side by side.
            sampler.Write(Path.ChangeExtension(log, ".gauges.csv"), from);
        }

        return Measure(scenario, client, model, from, to, doneAfter - doneBefore, cpu, jit, rss, note);
    }

    /// <summary>
    /// A fresh queue filled with <see cref="Backlog"/> jobs and kept at that length by a feeder until stopped, and the
    /// endpoint set to <paramref name="model"/>: the start of every throughput run.
    /// </summary>
    private async Task<(QueueClient Queue, EnqueueCount Enqueued, CancellationTokenSource StopFeeding, Task Feeder)> FedQueueAsync(string prefix, Workload workload, EndpointModel model)
    {
        var queue = queues.Queue(AzuriteProcess.UniqueQueueName(prefix));
        await queue.CreateAsync();
        var enqueued = new EnqueueCount();
        await EnqueueAsync(queue, workload, Backlog, enqueued.Next);
        var stopFeeding = new CancellationTokenSource();
        var feeder = FeedAsync(queue, workload, enqueued.Next, stopFeeding.Token);
        endpoint.Reset(model);
        return (queue, enqueued, stopFeeding, feeder);
    }

    /// <summary>Jobs enqueued so far (each job's number is the count after it).</summary>
    private sealed class EnqueueCount
    {
        private long _count;

        public long Value => Interlocked.Read(ref _count);

        public long Next() => Interlocked.Increment(ref _count);
    }

    /// <summary>Only the peak memory of the worker over a backlog of <paramref name="jobs"/>.</summary>
    /// <remarks>
    /// Azurite slows down as its queue grows (it timed out sends here before 100,000): when it does, the backlog it
    /// holds by then is measured and reported as such, instead of the run failing. The queue stand-in holds any backlog.
    /// </remarks>
    public async Task<(double PeakRssMiB, double EnqueueSeconds, long Queued)> PeakRssAsync(int jobs, EndpointModel model)
    {
        var queue = queues.Queue(AzuriteProcess.UniqueQueueName("backlog"));
        await queue.CreateAsync();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await EnqueueAsync(queue, Workload.Short, jobs, () => 0);
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or TaskCanceledException or AggregateException)
        {
            Console.WriteLine($"  {queues.Name} stopped taking messages in time ({ex.GetType().Name}); measuring the backlog it holds.");
        }
        var enqueueSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var queued = await ApproximateLengthAsync(queue);
        endpoint.Reset(model);
        await using var process = ClientProcess.Start(WorkerDll, [],
            WorkerEnvironment(queue.Name, "backlog" + Guid.NewGuid().ToString("N")[..8], model, FreePort.OnLoopback()), Path.Combine(settings.LogDirectory, $"backlog-{jobs}.log"));
        await Task.Delay(settings.Warmup + settings.Window);
        var rss = process.PeakRssMiB;
        await process.DisposeAsync();
        await queue.DeleteAsync();
        return (rss, enqueueSeconds, queued);
    }

    private RunResult Measure(string scenario, ClientKind client, EndpointModel model, long from, long to, long documents, TimeSpan cpu, TimeSpan jit, double rss, string note)
    {
        var window = Stopwatch.GetElapsedTime(from, to).TotalSeconds;
        var served = endpoint.Served;
        double tokens = 0, inputs = 0, busy = 0;
        foreach (var request in served.Where(r => r.Status == 200))
        {
            busy += Math.Max(0, Math.Min(to, request.Released) - Math.Max(from, request.Started));
            var overlap = Math.Min(to, request.Finished) - Math.Max(from, request.Started);
            var length = Math.Max(1, request.Finished - request.Started);
            if (overlap > 0)
            {
                tokens += request.Tokens * (double)overlap / length;
                inputs += request.Inputs * (double)overlap / length;
            }
        }
        var arrived = served.Where(r => r.Arrived >= from && r.Arrived < to).ToList();
        var latencies = served.Where(r => r.Status == 200 && r.Finished >= from && r.Finished < to)
            .Select(r => Stopwatch.GetElapsedTime(r.Arrived, r.Finished).TotalMilliseconds).Order().ToList();
        var tokensPerSecond = tokens / window;
        var ratio = model.TokensPerMinute is { } budget ? tokensPerSecond / (budget / 60.0) : tokensPerSecond / model.CapacityTokensPerSecond;
        // Whether the client kept the endpoint saturated, apart from how fast this shared machine lets it serve.
        var slotsBusy = busy / (model.Slots * (double)(to - from));
        return new RunResult(scenario, client.ToString().ToLowerInvariant(), documents / window, tokensPerSecond, ratio, slotsBusy,
            arrived.Count(r => r.Status == 429), arrived.Count, Percentile(latencies, 0.50), Percentile(latencies, 0.95),
            inputs > 0 ? cpu.TotalSeconds * 10_000 / inputs : double.NaN, cpu > TimeSpan.Zero ? Math.Max(0, jit / cpu) : 0, rss, note.Trim());
    }

    /// <summary>Every request the endpoint saw in this run, in milliseconds from the window's start, for looking into a result.</summary>
    private void WriteRequests(string path, long from, long to)
    {
        static string Ms(long timestamp, long origin) => Stopwatch.GetElapsedTime(origin, timestamp).TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture);
        var lines = new List<string> { $"# window 0 to {Ms(to, from)} ms", "arrived,started,released,finished,inputs,tokens,status,model" };
        lines.AddRange(endpoint.Served.OrderBy(r => r.Arrived).Select(r =>
            $"{Ms(r.Arrived, from)},{Ms(r.Started, from)},{Ms(r.Released, from)},{Ms(r.Finished, from)},{r.Inputs},{r.Tokens},{r.Status},{r.Model}"));
        File.WriteAllLines(path, lines);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private static async Task<long> ApproximateLengthAsync(QueueClient queue) =>
        (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    private static async Task EnqueueAsync(QueueClient queue, Workload workload, int jobs, Func<long> nextNumber)
    {
        var sent = -1;
        var senders = Enumerable.Range(0, 32).Select(async sender =>
        {
            var random = new Random(sender ^ Environment.TickCount);
            while (Interlocked.Increment(ref sent) < jobs)
            {
                await queue.SendMessageAsync(workload.Job(random, (int)nextNumber()));
            }
        });
        await Task.WhenAll(senders);
    }

    /// <summary>Keeps the queue at <see cref="Backlog"/> messages (in-flight ones included) until stopped.</summary>
    private static async Task FeedAsync(QueueClient queue, Workload workload, Func<long> nextNumber, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var missing = Backlog - (int)await ApproximateLengthAsync(queue);
                if (missing > 0)
                {
                    await EnqueueAsync(queue, workload, missing, nextNumber);
                }
                await Task.Delay(TimeSpan.FromMilliseconds(200), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private Dictionary<string, string> WorkerEnvironment(string queue, string collection, EndpointModel model, int managementPort)
    {
        var environment = new Dictionary<string, string>
        {
            ["Queue__ConnectionString"] = queues.ConnectionString,
            ["Queue__Name"] = queue,
            ["Queue__MaxInFlightMessages"] = WorkerMaxInFlight.ToString(CultureInfo.InvariantCulture),
            ["Embeddings__BaseUrl"] = endpoint.BaseUrl.ToString(),
            ["Embeddings__ApiKey"] = "benchmark",
            ["Embeddings__Model"] = "bench/e5-like",
            ["Embeddings__MaxConcurrency"] = "16",
            ["Embeddings__RetryBaseDelay"] = "00:00:00.200",
            ["Batching__MaxInputsPerRequest"] = model.MaxInputsPerRequest.ToString(CultureInfo.InvariantCulture),
            ["Batching__MaxTokensPerRequest"] = model.MaxTokensPerRequest.ToString(CultureInfo.InvariantCulture),
            ["Qdrant__Endpoint"] = qdrant.Endpoint.ToString(),
            ["Qdrant__Collection"] = collection,
            ["Logging__LogLevel__Default"] = "Warning",
            ["Management__Port"] = managementPort.ToString(CultureInfo.InvariantCulture),
        };
        if (model.TokensPerMinute is { } tpm)
        {
            environment["Embeddings__TokensPerMinute"] = tpm.ToString(CultureInfo.InvariantCulture);
        }
        if (model.RequestsPerMinute is { } rpm)
        {
            environment["Embeddings__RequestsPerMinute"] = rpm.ToString(CultureInfo.InvariantCulture);
        }
        return environment;
    }

    private Dictionary<string, string> NaiveEnvironment(string queue, string collection) =>
        BaselineConnections.Environment("NAIVE_", queues.ConnectionString, queue, endpoint.BaseUrl, qdrant.Endpoint, collection, ("CONCURRENCY", NaiveConcurrency));

    private Dictionary<string, string> PlainEnvironment(string queue, string collection, EndpointModel model) =>
        BaselineConnections.Environment("PLAIN_", queues.ConnectionString, queue, endpoint.BaseUrl, qdrant.Endpoint, collection,
            ("MAX_INPUTS", model.MaxInputsPerRequest), ("MAX_TOKENS", model.MaxTokensPerRequest), ("DIMENSIONS", model.Dimensions));
}
