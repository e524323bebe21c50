using System.Security.Cryptography;
using System.Text;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>SHA-256 over model and chunk text: equal hashes mean an equal vector, so re-embedding can be skipped.</summary>
internal static class ContentHash
{
    public static string Of(string model, string chunkText)
    {
        var bytes = Encoding.UTF8.GetBytes(model + "\n" + chunkText);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
