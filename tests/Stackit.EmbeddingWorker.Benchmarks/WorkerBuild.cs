using System.Runtime.InteropServices;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// Which build of the worker the benchmark runs (each worker and command is a process of its own):
/// <list type="bullet">
/// <item><c>image</c> (the default): the build the image ships — <c>dotnet publish</c> self-contained for this machine's
/// architecture and ReadyToRun as one composite with the .NET libraries, as the Dockerfile publishes it — made into
/// <c>bin/&lt;configuration&gt;/worker-image/</c> beside this program before the first scenario;</item>
/// <item><c>build</c>: the worker's own build output, <c>src/Stackit.EmbeddingWorker/bin/&lt;configuration&gt;</c>
/// (JIT-compiled from its first call: replicas started together take longer to reach their rate);</item>
/// <item><c>BENCHMARK_WORKER_DLL</c>, when set, names any other build and wins over both.</item>
/// </list>
/// </summary>
internal static class WorkerBuild
{
    private static string? _dll;

    /// <summary>The worker's dll, once <see cref="PrepareAsync"/> has run.</summary>
    public static string Dll => _dll ?? throw new InvalidOperationException("WorkerBuild.PrepareAsync has not run.");

    /// <summary>What the table's header says of the worker's build.</summary>
    public static string Description { get; private set; } = "";

    /// <summary>The configuration this program was built in (Release or Debug), which the worker is built in too.</summary>
    private static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    public static async Task PrepareAsync(string kind)
    {
        if (Environment.GetEnvironmentVariable("BENCHMARK_WORKER_DLL") is { Length: > 0 } chosen)
        {
            _dll = chosen;
            Description = $"{chosen} (BENCHMARK_WORKER_DLL)";
            return;
        }
        if (kind == "build")
        {
            var dll = Path.Combine(RepositoryPaths.Root, "src", "Stackit.EmbeddingWorker", "bin", Configuration, "net10.0", "Stackit.EmbeddingWorker.dll");
            _dll = File.Exists(dll) ? dll : throw new FileNotFoundException($"Build the worker first (dotnet build -c {Configuration}).", dll);
            Description = "its build output (JIT from the first call)";
            return;
        }
        _dll = await PublishAsync();
        Description = $"the image's build (self-contained, composite ReadyToRun, {RuntimeIdentifier})";
    }

    /// <summary>The runtime identifier the Dockerfile publishes for on this machine's architecture.</summary>
    private static string RuntimeIdentifier => RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";

    /// <summary>
    /// Restores and publishes the worker as the Dockerfile does (the same two commands); an unchanged worker is published
    /// again in seconds, a changed one in about two minutes on two cores (the composite holds the .NET libraries too).
    /// </summary>
    private static async Task<string> PublishAsync()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "..", "worker-image");
        var project = Path.Combine(RepositoryPaths.Root, "src", "Stackit.EmbeddingWorker", "Stackit.EmbeddingWorker.csproj");
        Console.WriteLine($"Publishing the worker as the image does (self-contained, composite ReadyToRun, {RuntimeIdentifier}) into {Path.GetFullPath(output)} …");
        string[][] steps =
        [
            ["restore", project, "--locked-mode", "-p:SelfContained=true", "-p:PublishReadyToRun=true", "--nologo"],
            ["publish", project, "-c", Configuration, "--no-restore", "-o", output, "-r", RuntimeIdentifier, "--self-contained", "true",
                "-p:PublishReadyToRun=true", "-p:PublishReadyToRunComposite=true", "--nologo"],
        ];
        foreach (var step in steps)
        {
            var (code, stdout, stderr) = await ProcessRun.RunAsync("dotnet", step, null, TimeSpan.FromMinutes(10));
            if (code != 0)
            {
                throw new InvalidOperationException($"dotnet {step[0]} of the worker failed ({code}); --worker build runs its build output instead:\n{stdout}{stderr}");
            }
        }
        var dll = Path.Combine(output, "Stackit.EmbeddingWorker.dll");
        return File.Exists(dll) ? Path.GetFullPath(dll) : throw new InvalidOperationException($"dotnet publish left no {dll}.");
    }
}
