using System.Security.Cryptography;
using System.Text;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>SHA-256 over model and chunk text (and images, for multimodal inputs): equal hashes mean an equal vector, so re-embedding can be skipped.</summary>
internal static class ContentHash
{
    public static string Of(string model, string chunkText)
    {
        var bytes = Encoding.UTF8.GetBytes(model + "\n" + chunkText);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>Over model, text and every image (as sent: data URIs), for a multimodal input.</summary>
    public static string Of(string model, string text, IReadOnlyList<string> images) =>
        images.Count == 0 ? Of(model, text) : Of(model, text + "\n" + string.Join("\n", images));
}
