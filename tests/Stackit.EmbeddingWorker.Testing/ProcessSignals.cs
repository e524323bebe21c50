using System.Diagnostics;
using System.Globalization;

namespace Stackit.EmbeddingWorker.Testing;

/// <summary>Signals to a worker process, as Kubernetes sends them.</summary>
public static class ProcessSignals
{
    /// <summary>SIGTERM, then waits; true when the process exited within <paramref name="timeout"/>.</summary>
    public static async Task<bool> TerminateAsync(Process process, TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
            if (kill.ExitCode != 0 && !process.HasExited)
            {
                throw new InvalidOperationException($"kill -TERM {process.Id} failed with {kill.ExitCode}");
            }
        }
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
