namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>
/// The <c>encoding_format</c> to ask for: the configured one until the server refuses base64, then float
/// for the rest of the process. Shared by every client instance.
/// </summary>
internal sealed class EncodingNegotiation(EmbeddingsOptions options)
{
    private volatile bool _base64Refused;

    public EmbeddingEncoding Current => options.Encoding == EmbeddingEncoding.Base64 && !_base64Refused ? EmbeddingEncoding.Base64 : EmbeddingEncoding.Float;

    public static string WireName(EmbeddingEncoding encoding) => encoding == EmbeddingEncoding.Base64 ? "base64" : "float";

    /// <summary>True when this refusal is about base64 and the client should ask again for floats.</summary>
    public bool TryFallBack(EmbeddingEncoding asked, EmbeddingRequestException refusal)
    {
        if (asked != EmbeddingEncoding.Base64 || !refusal.IsInputProblem
            || !(refusal.ServerMessage.Contains("encoding_format", StringComparison.OrdinalIgnoreCase)
                 || refusal.ServerMessage.Contains("base64", StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }
        _base64Refused = true;
        return true;
    }
}
