using System.Text;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>A tiny byte-level BPE rank file (<c>.tiktoken</c>): every byte, then the given merges, each ranked in order.</summary>
internal static class TiktokenFile
{
    public static void Write(string path, params string[] merges)
    {
        var lines = new StringBuilder();
        var rank = 0;
        for (var b = 0; b < 256; b++)
        {
            lines.Append(Convert.ToBase64String([(byte)b])).Append(' ').Append(rank++).Append('\n');
        }
        foreach (var merge in merges)
        {
            lines.Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(merge))).Append(' ').Append(rank++).Append('\n');
        }
        File.WriteAllText(path, lines.ToString());
    }
}
