using System.Globalization;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// Command-line settings: <c>--warmup 10 --window 30 --backlog 100000 --idle 300 --only short,mixed,long,budget,replicas,latency,cpu,backlog
/// --clients worker,naive,plain --queue azurite --worker image</c>; <c>cpu</c> stands for <c>cpu-long,cpu-short</c>; <c>limiter-compare</c> (with <c>limiter</c>) runs each limiter row also at <c>Fleet:TargetUtilization</c> 1.0, <c>limiter-sliding</c> only the sliding-window rows, <c>limiter-faults</c> one replica with 5 % of admitted requests failing, <c>limiter-kill</c> the kill-and-replace row and <c>limiter-start</c> the four started together, under both limiter models; <c>--queue stand-in</c> runs
/// against the in-process queue stand-in instead of Azurite; <c>--worker build</c> runs the worker's build output instead of
/// the image's ReadyToRun build (<see cref="WorkerBuild"/>).
/// </summary>
internal sealed record BenchmarkSettings(TimeSpan Warmup, TimeSpan Window, int Backlog, IReadOnlySet<string> Only, IReadOnlyList<ClientKind> Clients, bool QueueStandIn, string LogDirectory, TimeSpan Idle, string Worker = "image")
{
    public static readonly string[] Scenarios = ["short", "mixed", "long", "budget", "replicas", "replicas-scale", "replicas-headers", "limiter", "limiter-faults", "limiter-kill", "limiter-start", "latency", "cpu-long", "cpu-short", "backlog", "backfill", "backfill-layout", "backfill-migration"];

    public bool Runs(string scenario) => Only.Contains(scenario) && !(scenario is "replicas-scale" or "replicas-headers" && Only.Contains("replicas"));

    /// <summary>The clients of the throughput scenarios: the plain client is a CPU yardstick only (no budget, no retries).</summary>
    public IEnumerable<ClientKind> ThroughputClients => Clients.Where(c => c != ClientKind.Plain);

    public static BenchmarkSettings Parse(string[] args)
    {
        var warmup = 10.0;
        var window = 30.0;
        var backlog = 100_000;
        var idle = 300.0;
        IReadOnlySet<string> only = Scenarios.ToHashSet();
        IReadOnlyList<ClientKind> clients = [ClientKind.Worker, ClientKind.Naive, ClientKind.Plain];
        var standIn = false;
        var worker = "image";
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--warmup": warmup = double.Parse(value, CultureInfo.InvariantCulture); i++; break;
                case "--window": window = double.Parse(value, CultureInfo.InvariantCulture); i++; break;
                case "--backlog": backlog = int.Parse(value, CultureInfo.InvariantCulture); i++; break;
                case "--idle": idle = double.Parse(value, CultureInfo.InvariantCulture); i++; break;
                case "--only":
                    only = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .SelectMany(s => s == "cpu" ? ["cpu-long", "cpu-short"] : new[] { s }).ToHashSet();
                    i++;
                    break;
                case "--clients":
                    clients = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(c => Enum.Parse<ClientKind>(c, ignoreCase: true))];
                    i++;
                    break;
                case "--queue":
                    standIn = value switch
                    {
                        "azurite" => false,
                        "stand-in" => true,
                        _ => throw new ArgumentException($"--queue is azurite or stand-in, not {value}."),
                    };
                    i++;
                    break;
                case "--worker":
                    worker = value is "image" or "build" ? value : throw new ArgumentException($"--worker is image or build, not {value}.");
                    i++;
                    break;
                default: throw new ArgumentException($"unknown argument {args[i]}; use --warmup s, --window s, --backlog n, --idle s, --only {string.Join(',', Scenarios)} (cpu = both cpu-), --clients worker,naive,plain, --queue azurite|stand-in, --worker image|build");
            }
        }
        var logs = Path.Combine(Path.GetTempPath(), "stackit-embedding-benchmark");
        Directory.CreateDirectory(logs);
        return new BenchmarkSettings(TimeSpan.FromSeconds(warmup), TimeSpan.FromSeconds(window), backlog, only, clients, standIn, logs, TimeSpan.FromSeconds(idle), worker);
    }
}
