using System.Diagnostics;
using System.Globalization;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>What happens to the fleet at a moment of a <c>limiter</c> run.</summary>
internal enum FleetEvent
{
    /// <summary>A worker process starts.</summary>
    Start,

    /// <summary>The oldest running worker is SIGKILLed (no drain, its ledger entry stays until it times out).</summary>
    Kill,
}

/// <summary>
/// The <c>limiter</c> scenarios: worker processes sharing one budget through the fleet ledger, measured from the
/// moment the first starts (no warm-up: the first minute after a simultaneous start is the point), against an endpoint
/// that counts its limit as a refilling bucket or over a strict sliding 60 s window. Reported per 60 s window: the
/// share of the budget used and the 429s; and the most tokens admitted in any 60 s (failed attempts included: the
/// limiter counted them).
/// </summary>
internal sealed partial class BenchmarkRunner
{
    public async Task<string> RunLimiterAsync(string scenario, EndpointModel model, IReadOnlyList<(TimeSpan At, FleetEvent Event)> events, TimeSpan length,
        IReadOnlyDictionary<string, string>? overrides = null)
    {
        var (queue, enqueued, stopFeeding, feeder) = await FedQueueAsync("limiter", Workload.Mixed, model);
        using var feeding = stopFeeding;
        var collection = "bench" + Guid.NewGuid().ToString("N")[..8];
        var container = "fleet" + Guid.NewGuid().ToString("N")[..8];
        var started = 0;
        ClientProcess Start()
        {
            var environment = WorkerEnvironment(queue.Name, collection, model, FreePort.OnLoopback());
            environment["Queue__MaxInFlightMessages"] = (WorkerMaxInFlight / 2).ToString(CultureInfo.InvariantCulture);
            environment["Blobs__Container"] = container;
            environment["Embeddings__TokensPerMinute"] = model.TokensPerMinute!.Value.ToString(CultureInfo.InvariantCulture);
            environment["Embeddings__RequestsPerMinute"] = model.RequestsPerMinute!.Value.ToString(CultureInfo.InvariantCulture);
            environment["Fleet__Coordination"] = "Storage";
            environment["Fleet__MaxReplicas"] = "4";
            environment["Logging__LogLevel__Stackit.EmbeddingWorker.Embeddings.Throttling"] = "Debug";
            PassTrialSettings(environment);
            foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
            {
                environment[key] = value;
            }
            var log = Path.Combine(settings.LogDirectory, $"limiter-{Slug(scenario)}-{started++}.log");
            return ClientProcess.Start(WorkerDll, [], environment, log);
        }

        var processes = new List<ClientProcess>();
        var running = new List<ClientProcess>();
        var from = Stopwatch.GetTimestamp();
        try
        {
            foreach (var (at, happening) in events.OrderBy(e => e.At))
            {
                var wait = at - Stopwatch.GetElapsedTime(from);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
                if (happening == FleetEvent.Start)
                {
                    var process = Start();
                    processes.Add(process);
                    running.Add(process);
                }
                else if (running.Count > 0)
                {
                    // SIGKILL: no drain, no goodbye to the ledger.
                    await running[0].DisposeAsync();
                    running.RemoveAt(0);
                }
            }
            var rest = length - Stopwatch.GetElapsedTime(from);
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest);
            }
            var to = from + (long)(length.TotalSeconds * Stopwatch.Frequency);
            await stopFeeding.CancelAsync();
            await feeder;
            await endpoint.WaitForServiceInProgressAsync(TimeSpan.FromSeconds(30));
            WriteRequests(Path.Combine(settings.LogDirectory, $"limiter-{Slug(scenario)}.requests.csv"), from, to);
            return Describe(scenario, model, from, to);
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
            await queue.DeleteAsync();
        }
    }

    private string Describe(string scenario, EndpointModel model, long from, long to)
    {
        var requests = endpoint.Served.Where(r => r.Arrived >= from && r.Arrived < to).OrderBy(r => r.Arrived).ToList();
        // What the endpoint's limiter counted: every request it admitted, answered or failed after admission (500).
        static bool Admitted(ServedRequest r) => r.Status is 200 or 500;
        var minute = Stopwatch.Frequency * 60;
        var windows = new List<string>();
        var total429 = 0;
        for (var start = from; start < to; start += minute)
        {
            var inWindow = requests.Where(r => r.Arrived >= start && r.Arrived < Math.Min(to, start + minute)).ToList();
            var seconds = (Math.Min(to, start + minute) - start) / (double)Stopwatch.Frequency;
            var used = inWindow.Where(Admitted).Sum(r => (long)r.Tokens) / (model.TokensPerMinute!.Value * seconds / 60);
            var refused = inWindow.Count(r => r.Status == 429);
            total429 += refused;
            windows.Add(string.Create(CultureInfo.InvariantCulture,
                $"{(start - from) / Stopwatch.Frequency}–{(Math.Min(to, start + minute) - from) / Stopwatch.Frequency} s: {used:P1} of the budget, {refused}/{inWindow.Count} answered 429"));
        }
        // The most tokens admitted in any 60 s: what a strict sliding window compares with the budget.
        var admitted = requests.Where(Admitted).ToList();
        long most = 0, sum = 0;
        for (int head = 0, tail = 0; head < admitted.Count; head++)
        {
            sum += admitted[head].Tokens;
            while (admitted[head].Arrived - admitted[tail].Arrived >= minute)
            {
                sum -= admitted[tail++].Tokens;
            }
            most = Math.Max(most, sum);
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"- {scenario}: {string.Join("; ", windows)}; most in any 60 s {most / (double)model.TokensPerMinute!.Value:P1} of the budget; 429s {total429}/{requests.Count} ({(requests.Count == 0 ? 0 : total429 / (double)requests.Count):P1}){(model.FaultRate > 0 ? $"; {requests.Count(r => r.Status == 500)} failed with 500 (injected)" : "")}");
    }

    private static string Slug(string text) => new([.. text.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-')]);
}
