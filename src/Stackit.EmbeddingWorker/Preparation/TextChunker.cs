using System.Text;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>
/// Cuts a text into chunks of at most <c>MaxChunkTokens</c> estimated tokens, preferring paragraph, then
/// line, sentence, clause and word boundaries, and starting each chunk with up to <c>OverlapTokens</c> of
/// the previous one's end. No text is dropped or truncated.
/// </summary>
internal sealed class TextChunker(ChunkingOptions options, ITokenEstimator estimator)
{
    private static readonly string[] Boundaries = ["\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " "];

    public IReadOnlyList<string> Chunk(string text) => Chunk(text, options.MaxChunkTokens);

    /// <summary>Chunks to a smaller size than configured (the overlap shrinks in proportion).</summary>
    public IReadOnlyList<string> Chunk(string text, int maxTokens)
    {
        var limits = new Limits(Math.Clamp(maxTokens, 1, options.MaxChunkTokens), (int)((long)options.OverlapTokens * maxTokens / options.MaxChunkTokens));
        if (estimator.Estimate(text) <= limits.MaxTokens)
        {
            return string.IsNullOrWhiteSpace(text) ? [] : [text.Trim()];
        }
        var pieces = new List<Piece>();
        Split(text, 0, limits, pieces);
        return Pack(pieces, limits);
    }

    private void Split(string text, int level, Limits limits, List<Piece> pieces)
    {
        var tokens = estimator.Estimate(text);
        if (tokens <= limits.MaxTokens)
        {
            pieces.Add(new Piece(text, tokens));
            return;
        }
        if (level == Boundaries.Length)
        {
            HardSplit(text, limits, pieces);
            return;
        }
        foreach (var part in SplitAfter(text, Boundaries[level]))
        {
            Split(part, level + 1, limits, pieces);
        }
    }

    /// <summary>A run without any boundary (a long token, base64, a URL): cut at the longest prefix that fits.</summary>
    private void HardSplit(string text, Limits limits, List<Piece> pieces)
    {
        var start = 0;
        while (start < text.Length)
        {
            var length = LongestFittingPrefix(text.AsSpan(start), limits.MaxTokens);
            if (char.IsHighSurrogate(text[start + length - 1]) && start + length < text.Length)
            {
                length = length > 1 ? length - 1 : length + 1;
            }
            var piece = text.Substring(start, length);
            pieces.Add(new Piece(piece, estimator.Estimate(piece)));
            start += length;
        }
    }

    /// <summary>Binary search: estimates grow with length. At least one character, so the cut always advances.</summary>
    private int LongestFittingPrefix(ReadOnlySpan<char> text, int maxTokens)
    {
        int low = 1, high = text.Length;
        while (low < high)
        {
            var middle = low + ((high - low + 1) / 2);
            if (estimator.Estimate(text[..middle]) <= maxTokens)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }
        return low;
    }

    private static IEnumerable<string> SplitAfter(string text, string separator)
    {
        var start = 0;
        while (start < text.Length)
        {
            var at = text.IndexOf(separator, start, StringComparison.Ordinal);
            var end = at < 0 ? text.Length : at + separator.Length;
            yield return text[start..end];
            start = end;
        }
    }

    private static List<string> Pack(List<Piece> pieces, Limits limits)
    {
        var chunks = new List<string>();
        var current = new List<Piece>();
        var currentTokens = 0;
        foreach (var piece in pieces)
        {
            if (current.Count > 0 && currentTokens + piece.Tokens > limits.MaxTokens)
            {
                Emit(chunks, current);
                (current, currentTokens) = Overlap(current, piece.Tokens, limits);
            }
            current.Add(piece);
            currentTokens += piece.Tokens;
        }
        Emit(chunks, current);
        return chunks;
    }

    private static (List<Piece> Kept, int Tokens) Overlap(List<Piece> previous, int nextTokens, Limits limits)
    {
        var kept = new List<Piece>();
        var tokens = 0;
        for (var i = previous.Count - 1; i >= 0; i--)
        {
            var candidate = tokens + previous[i].Tokens;
            if (candidate > limits.OverlapTokens || candidate + nextTokens > limits.MaxTokens)
            {
                break;
            }
            kept.Insert(0, previous[i]);
            tokens = candidate;
        }
        return (kept, tokens);
    }

    private static void Emit(List<string> chunks, List<Piece> pieces)
    {
        var builder = new StringBuilder();
        foreach (var piece in pieces)
        {
            builder.Append(piece.Text);
        }
        var chunk = builder.ToString().Trim();
        if (chunk.Length > 0)
        {
            chunks.Add(chunk);
        }
    }

    private readonly record struct Piece(string Text, int Tokens);

    private readonly record struct Limits(int MaxTokens, int OverlapTokens);
}
