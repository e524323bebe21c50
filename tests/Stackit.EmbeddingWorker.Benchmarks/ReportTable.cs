using System.Globalization;
using System.Text;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>Prints the results as one Markdown table, so it can be pasted into notes as it is.</summary>
internal static class ReportTable
{
    public static string Render(IEnumerable<RunResult> results)
    {
        var table = new StringBuilder();
        table.AppendLine("| scenario | client | docs/s | tokens/s | achieved/capacity | slots busy | 429s / requests | p50 ms | p95 ms | CPU s / 10k emb. | of it JIT | peak RSS MiB | note |");
        table.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in results)
        {
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Scenario} | {r.Client} | {r.DocsPerSecond:F1} | {r.TokensPerSecond:F0} | {r.Ratio:P1} | {r.SlotsBusy:P1} | {r.Throttled} / {r.Requests} | {r.P50Milliseconds:F0} | {r.P95Milliseconds:F0} | {r.CpuSecondsPer10K:F2} | {r.JitShare:P0} | {r.PeakRssMiB:F0} | {r.Note} |");
        }
        return table.ToString();
    }
}
