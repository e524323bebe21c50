using System.Diagnostics;
using System.Globalization;

using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>A client under test in its own process, so its CPU time and peak memory are its own.</summary>
internal sealed class ClientProcess : IAsyncDisposable
{
    private readonly Process _process;
    private bool _disposed;

    private ClientProcess(Process process) => _process = process;

    /// <summary>
    /// Starts <c>dotnet {dll} {args}</c>, or a self-contained build's own executable with <c>{args}</c> as the image
    /// does, with the environment given; output goes to <paramref name="log"/>.
    /// </summary>
    public static ClientProcess Start(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment, string log)
    {
        var executable = Path.ChangeExtension(dll, null);
        var runtimeConfig = Path.ChangeExtension(dll, ".runtimeconfig.json");
        var selfContained = File.Exists(executable) && File.Exists(runtimeConfig)
            && File.ReadAllText(runtimeConfig).Contains("\"includedFrameworks\"", StringComparison.Ordinal);
        var start = new ProcessStartInfo(selfContained ? executable : "dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (!selfContained)
        {
            start.ArgumentList.Add(dll);
        }
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {dll}");
        var writer = new StreamWriter(log) { AutoFlush = true };
        // The moment of the start, to set beside the log's timestamps (Logging__Console__FormatterOptions__TimestampFormat).
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# started {DateTimeOffset.UtcNow:HH:mm:ss.fff} UTC"));
        var started = Stopwatch.StartNew();
        process.OutputDataReceived += (_, e) => Write(writer, e.Data, started);
        process.ErrorDataReceived += (_, e) => Write(writer, e.Data, started);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ClientProcess(process);
    }

    public bool HasExited => _process.HasExited;

    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>
    /// CPU time of the runtime's tiered-compilation thread: the JIT still optimizing hot code. It is part of
    /// <see cref="CpuTime"/> and falls to nothing once the process has warmed up.
    /// </summary>
    public TimeSpan JitCpuTime
    {
        get
        {
            var ticks = 0L;
            foreach (var task in Directory.EnumerateDirectories($"/proc/{_process.Id}/task"))
            {
                try
                {
                    if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith(".NET Tiered Com", StringComparison.Ordinal))
                    {
                        continue;
                    }
                    // Fields 14 and 15 (utime, stime) in clock ticks, counted after the parenthesised name.
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }
            return TimeSpan.FromSeconds(ticks / 100.0);
        }
    }

    /// <summary>Waits until the process exits by itself (a command), at most <paramref name="timeout"/>; its exit code, or null.</summary>
    public async Task<int?> ExitedWithinAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Peak resident set size (VmHWM) in MiB.</summary>
    public double PeakRssMiB => ProcessMemory.PeakRssMiB(_process.Id);

    /// <summary>SIGTERM, as Kubernetes scales down: the worker drains and exits; true if it did within <paramref name="timeout"/>.</summary>
    public Task<bool> TerminateAsync(TimeSpan timeout) => ProcessSignals.TerminateAsync(_process, timeout);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    /// <summary>Writes one line of the process's output, after the milliseconds since it was started.</summary>
    private static void Write(StreamWriter writer, string? line, Stopwatch started)
    {
        if (line is null)
        {
            return;
        }
        lock (writer)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{started.ElapsedMilliseconds,6} ms] {line}"));
        }
    }
}
