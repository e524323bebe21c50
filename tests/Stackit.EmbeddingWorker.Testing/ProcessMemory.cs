using System.Globalization;

namespace Stackit.EmbeddingWorker.Testing;

/// <summary>What the kernel says of a process's memory (Linux: <c>/proc/&lt;pid&gt;/status</c>).</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size (VmHWM) in MiB.</summary>
    public static double PeakRssMiB(int processId)
    {
        var line = File.ReadLines($"/proc/{processId}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture) / 1024.0;
    }
}
