using System.Diagnostics;
using System.Globalization;

namespace Stackit.EmbeddingWorker.Testing;

/// <summary>
/// A queue-only Azurite of a test's own that keeps its messages on disk (<c>--location</c>, not in memory), so a
/// test can stop storage and start it again on the same port with the same messages: an outage, as Azure Storage
/// has them, without losing the queue. Same pinned version and flags as <see cref="AzuriteProcess"/> otherwise.
/// </summary>
public sealed class AzuriteOnDisk : IAsyncDisposable
{
    private readonly DirectoryInfo _location = Directory.CreateTempSubdirectory("azurite-disk-");
    private readonly int _port = FreePort.OnLoopback();
    private Process? _process;

    public string ConnectionString
    {
        get
        {
            var endpoint = $"http://127.0.0.1:{_port}/devstoreaccount1";
            return AzuriteProcess.ForEndpoints(endpoint, endpoint);
        }
    }

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo(await AzuriteProcess.LocateOrInstallAsync("azurite-queue"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--queueHost", "127.0.0.1", "--queuePort", _port.ToString(CultureInfo.InvariantCulture),
                     "--location", _location.FullName, "--skipApiVersionCheck", "--disableTelemetry", "--silent" })
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("azurite-queue did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await FreePort.WaitUntilListeningAsync(_port, TimeSpan.FromSeconds(60),
            () => process.HasExited ? $"azurite-queue exited with {process.ExitCode}" : null);
    }

    /// <summary>Stops storage gracefully (SIGTERM: it writes its state to disk), or kills it after 15 s.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            _location.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A temporary directory: left for the system to clean.
        }
    }
}
