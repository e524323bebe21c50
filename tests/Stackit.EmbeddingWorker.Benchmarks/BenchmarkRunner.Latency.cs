using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// The <c>latency</c> scenario: one worker with the default polling settings, one short document a second, the time
/// from enqueue until its point is in the Qdrant stand-in; then the first document after an idle period.
/// </summary>
internal sealed partial class BenchmarkRunner
{
    public async Task<(List<double> SteadySeconds, double AfterIdleSeconds)> LatencyAsync(EndpointModel model, int documents, TimeSpan idle, TimeSpan? maxPollingInterval = null)
    {
        var queue = queues.Queue(AzuriteProcess.UniqueQueueName("latency"));
        await queue.CreateAsync();
        var collection = "latency" + Guid.NewGuid().ToString("N")[..8];
        var environment = WorkerEnvironment(queue.Name, collection, model, FreePort.OnLoopback());
        // The worker's own defaults for what decides freshness: polling backoff and in-flight limit.
        environment.Remove("Queue__MaxInFlightMessages");
        if (maxPollingInterval is { } polling)
        {
            environment["Queue__MaxPollingInterval"] = polling.ToString("c", CultureInfo.InvariantCulture);
        }
        await using var process = ClientProcess.Start(WorkerDll, [], environment, Path.Combine(settings.LogDirectory, $"latency-worker-{(maxPollingInterval ?? TimeSpan.Zero).TotalSeconds}.log"));
        var enqueued = new ConcurrentDictionary<string, long>();
        var stored = new ConcurrentDictionary<string, long>();
        using var stop = new CancellationTokenSource();
        var watcher = WatchAsync(collection, stored, stop.Token);
        var random = new Random(7);
        try
        {
            // The worker starts and creates the collection with a first document.
            await SendAsync("warm-up");
            await WaitStoredAsync("warm-up", TimeSpan.FromMinutes(2));
            var steady = new List<double>();
            for (var i = 0; i < documents; i++)
            {
                await SendAsync($"steady-{i}");
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
            for (var i = 0; i < documents; i++)
            {
                steady.Add(await WaitStoredAsync($"steady-{i}", TimeSpan.FromMinutes(2)));
            }
            await Task.Delay(idle);
            await SendAsync("after-idle");
            var afterIdle = await WaitStoredAsync("after-idle", TimeSpan.FromMinutes(3));
            steady.Sort();
            return (steady, afterIdle);
        }
        finally
        {
            await stop.CancelAsync();
            await watcher;
            await queue.DeleteAsync();
        }

        async Task SendAsync(string id)
        {
            var job = Workload.Short.Job(random, 0).Replace("\"short-0\"", $"\"{id}\"", StringComparison.Ordinal);
            enqueued[id] = Stopwatch.GetTimestamp();
            await queue.SendMessageAsync(job);
        }

        async Task<double> WaitStoredAsync(string id, TimeSpan timeout)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (!stored.ContainsKey(id))
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    return double.NaN;
                }
                await Task.Delay(10);
            }
            return Stopwatch.GetElapsedTime(enqueued[id], stored[id]).TotalSeconds;
        }
    }

    /// <summary>Notes when each document's first point appears, polling the stand-in every 10 ms.</summary>
    private async Task WatchAsync(string collection, ConcurrentDictionary<string, long> stored, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var point in qdrant.Store.Points(collection))
            {
                stored.TryAdd(point.Payload["doc_id"].StringValue, now);
            }
            try
            {
                await Task.Delay(10, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public static string Describe(List<double> sorted) =>
        string.Create(CultureInfo.InvariantCulture, $"p50 {Percentile(sorted, 0.5):F2} s, p95 {Percentile(sorted, 0.95):F2} s, max {sorted[^1]:F2} s over {sorted.Count} documents");
}
