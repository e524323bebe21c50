using System.Text;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>
/// A conservative estimate from the UTF-8 length: Llama/Mistral-family tokenizers average about four bytes
/// a token on European text, so three bytes a token leaves headroom. Subadditive (the estimate of a
/// concatenation never exceeds the sum of its parts' estimates), which the chunker relies on.
/// </summary>
internal sealed class Utf8LengthTokenEstimator : ITokenEstimator
{
    public const int BytesPerToken = 3;

    public int Estimate(ReadOnlySpan<char> text) => ((Encoding.UTF8.GetByteCount(text) + BytesPerToken - 1) / BytesPerToken) + 1;
}
