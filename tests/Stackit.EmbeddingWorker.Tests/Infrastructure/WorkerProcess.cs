using System.Collections.Concurrent;
using System.Diagnostics;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>
/// The worker as operators run it: its own process, started from its own build output, configured through
/// environment variables, and stopped with SIGTERM (graceful) or SIGKILL (a crash).
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private WorkerProcess(Process process, int managementPort)
    {
        _process = process;
        ManagementPort = managementPort;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The worker's build output beside this test assembly's (same configuration).</summary>
    public static string WorkerDll
    {
        get
        {
            var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = testOutput.Parent!.Name;
            return Path.Combine(RepositoryPaths.Root, "src", "Stackit.EmbeddingWorker", "bin", configuration, testOutput.Name, "Stackit.EmbeddingWorker.dll");
        }
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>Where this worker serves <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c> (a free loopback port unless set).</summary>
    public int ManagementPort { get; }

    /// <summary>Every line the worker wrote so far, standard output and error interleaved.</summary>
    public IReadOnlyList<string> Output => [.. _output];

    public bool HasExited => _process.HasExited;

    /// <summary>The most memory the process has held so far (VmHWM), in MiB.</summary>
    public double PeakRssMiB => ProcessMemory.PeakRssMiB(_process.Id);

    /// <summary>The last lines the worker wrote, for a failure message.</summary>
    public string Tail(int lines = 40) => string.Join(Environment.NewLine, _output.TakeLast(lines));

    public static WorkerProcess Start(IReadOnlyDictionary<string, string?> settings)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(WorkerDll);
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        start.Environment["DOTNET_ENVIRONMENT"] = "Test";
        // Several workers may run at once (tests in parallel): each gets its own management port.
        var port = settings.TryGetValue("Management:Port", out var given) && given is not null ? int.Parse(given, System.Globalization.CultureInfo.InvariantCulture) : FreePort.OnLoopback();
        start.Environment["Management__Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new WorkerProcess(Process.Start(start) ?? throw new InvalidOperationException("the worker did not start"), port);
    }

    /// <summary>True when the worker exited by itself within <paramref name="timeout"/> (its output is read to the end).</summary>
    public async Task<bool> ExitedWithinAsync(TimeSpan timeout)
    {
        using var within = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(within.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A crash: no shutdown code runs, leases simply run out.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>What Kubernetes sends first; true when the worker exited within <paramref name="timeout"/>.</summary>
    public Task<bool> TerminateAsync(TimeSpan timeout) => ProcessSignals.TerminateAsync(_process, timeout);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        _output.Enqueue(line);
        while (_output.Count > 500 && _output.TryDequeue(out _))
        {
        }
    }
}
