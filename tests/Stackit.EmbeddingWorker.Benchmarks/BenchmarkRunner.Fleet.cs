using System.Diagnostics;
using System.Globalization;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// The <c>replicas</c> scenario: several worker processes on one queue against one endpoint with a project budget,
/// sharing it (<c>Fleet:Coordination=Storage</c>, the ledger in Azurite's blobs) or each using the whole of it
/// (<c>Off</c>: what replicas did before they shared, the naive way to run a fleet).
/// </summary>
internal sealed partial class BenchmarkRunner
{
    public async Task<RunResult> RunFleetAsync(string scenario, Workload workload, EndpointModel model, int replicas, bool shared, bool scaleEvents, int budgetFactor = 1)
    {
        var (queue, enqueued, stopFeeding, feeder) = await FedQueueAsync("fleet", workload, model);
        using var feeding = stopFeeding;
        var collection = "bench" + Guid.NewGuid().ToString("N")[..8];
        var container = "fleet" + Guid.NewGuid().ToString("N")[..8];
        var label = $"{(shared ? "shared" : "own")}-{replicas}{(scaleEvents ? "-scale" : "")}";
        var started = 0;
        ClientProcess Start()
        {
            var environment = WorkerEnvironment(queue.Name, collection, model, FreePort.OnLoopback());
            // The fleet holds as many messages as one benchmark worker does, so the backlog feeds every count alike.
            environment["Queue__MaxInFlightMessages"] = (WorkerMaxInFlight / Math.Max(replicas, 2) * (replicas == 1 ? 2 : 1)).ToString(CultureInfo.InvariantCulture);
            environment["Blobs__Container"] = container;
            // A budget set higher than the project's: only the endpoint's declared limit can bring it down.
            environment["Embeddings__TokensPerMinute"] = (model.TokensPerMinute!.Value * budgetFactor).ToString(CultureInfo.InvariantCulture);
            environment["Embeddings__RequestsPerMinute"] = (model.RequestsPerMinute!.Value * budgetFactor).ToString(CultureInfo.InvariantCulture);
            environment["Fleet__Coordination"] = shared ? "Storage" : "Off";
            environment["Fleet__MaxReplicas"] = "4";
            // Each change of the fleet and of the share goes to the replica's log.
            environment["Logging__LogLevel__Stackit.EmbeddingWorker.Embeddings.Throttling"] = "Debug";
            var log = Path.Combine(settings.LogDirectory, $"replicas-{label}-{started++}.log");
            return ClientProcess.Start(WorkerDll, [], environment, log);
        }

        var processes = Enumerable.Range(0, replicas).Select(_ => Start()).ToList();
        var stopping = new List<Task<bool>>();
        try
        {
            await Task.Delay(settings.Warmup);
            var doneBefore = enqueued.Value - await ApproximateLengthAsync(queue);
            var from = Stopwatch.GetTimestamp();
            if (scaleEvents)
            {
                // A replica is added a third into the window and the first one removed (SIGTERM, it drains) at two thirds.
                await Task.Delay(settings.Window / 3);
                processes.Add(Start());
                await Task.Delay(settings.Window / 3);
                stopping.Add(processes[0].TerminateAsync(TimeSpan.FromSeconds(60)));
                await Task.Delay(settings.Window - (2 * (settings.Window / 3)));
            }
            else
            {
                await Task.Delay(settings.Window);
            }
            var to = Stopwatch.GetTimestamp();
            var doneAfter = enqueued.Value - await ApproximateLengthAsync(queue);
            await stopFeeding.CancelAsync();
            await feeder;
            await endpoint.WaitForServiceInProgressAsync(TimeSpan.FromSeconds(30));
            await Task.WhenAll(stopping);
            WriteRequests(Path.Combine(settings.LogDirectory, $"replicas-{label}.requests.csv"), from, to);
            var note = scaleEvents ? $"{replicas}, +1 at 1/3, -1 (SIGTERM) at 2/3 of the window" : "";
            var result = Measure(scenario, ClientKind.Worker, model, from, to, doneAfter - doneBefore, TimeSpan.Zero, TimeSpan.Zero,
                processes.Max(p => p.HasExited ? 0 : p.PeakRssMiB), $"ratio = share of the TPM budget used; {note}");
            return result with { Client = $"{replicas} worker{(replicas == 1 ? "" : "s")}, {(shared ? "shared budget" : "each the whole budget")}", CpuSecondsPer10K = double.NaN };
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
}
