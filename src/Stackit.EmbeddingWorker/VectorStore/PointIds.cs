using System.Security.Cryptography;
using System.Text;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Deterministic point ids: UUIDv5 (RFC 9562, SHA-1 name-based) over <c>"{collection}/{id}/{chunkIndex}"</c>,
/// so a re-delivered job overwrites its own points instead of adding duplicates.
/// </summary>
internal static class PointIds
{
    /// <summary>The namespace of this worker's names. Changing it would orphan every stored point.</summary>
    public static readonly Guid Namespace = new("1b671a64-40d5-491e-99b0-da01ff1f3341");

    public static Guid For(string collection, string documentId, int chunkIndex) =>
        NameBased(Namespace, $"{collection}/{documentId}/{chunkIndex}");

    public static Guid NameBased(Guid namespaceId, string name)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        namespaceId.TryWriteBytes(input, bigEndian: true, out _);
        nameBytes.CopyTo(input, 16);

        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(input, hash);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50); // version 5
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC variant
        return new Guid(bytes, bigEndian: true);
    }
}
